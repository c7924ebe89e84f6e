"""The action half's report (ag_detectron.pipeline.actions): the mAP table and the orderings,
on hand-made numbers."""

from ag_detectron.pipeline.actions import best_fbo, map_table, ordering_lines


def _runs(*values):
    return {str(i): {"mAP": v, "mAP_sklearn": v - 0.01} for i, v in enumerate(values)}


HEADS = {
    "LFB": {"avg": _runs(0.20, 0.22), "max": _runs(0.25, 0.27)},
    "SGFB": {"avg": _runs(0.40, 0.44), "max": _runs(0.30, 0.30)},
    "SGFB Oracle": {"avg": _runs(0.40, 0.40)},
}
CLIP = {"mAP": 0.21, "mAP_sklearn": 0.20}


def test_best_fbo_is_the_highest_mean():
    assert best_fbo(HEADS["LFB"])[:2] == ("max", 0.26)
    fbo, mean, std = best_fbo(HEADS["SGFB"])
    assert fbo == "avg" and abs(mean - 0.42) < 1e-12 and abs(std - 0.0282843) < 1e-6


def test_table_rows_and_cells():
    text = map_table(CLIP, HEADS, {"baseline: random": {"mAP": 0.1, "mAP_sklearn": 0.05}})
    lines = text.splitlines()
    assert lines[2] == "| 3D CNN alone | – | – | 21.0 | 20.0 |"
    assert "| SGFB | predicted scene graphs (SGDet, 2/s) | avg | 42.0 ± 2.8 | 41.0 ± 2.8 |" in lines
    assert lines[-1] == "| baseline: random | – | – | 10.0 | 5.0 |"
    assert len(lines) == 2 + 1 + 5 + 1


def test_orderings_hold_and_fail_with_margins():
    lines = ordering_lines(CLIP, HEADS)
    assert lines[0].startswith("- SGFB > LFB (best FBO each, official mAP): 42.0 vs 26.0 (+16.0")
    assert lines[0].endswith("HOLDS")
    assert lines[1].startswith("- LFB > 3D CNN alone: 26.0 vs 21.0 (+5.0") and "HOLDS" in lines[1]
    # oracle 40.0 < SGFB 42.0: reported as failing, with the margin
    assert lines[3].startswith("- SGFB Oracle >= SGFB: 40.0 vs 42.0 (-2.0") and "FAILS" in lines[3]
    few = {
        "shots": [1],
        "table": {
            "SGFB": {"1": {"mAP_mean": 0.3, "mAP_std": 0.1}},
            "LFB": {"1": {"mAP_mean": 0.2, "mAP_std": 0.05}},
        },
        "runs": {
            "SGFB": {"1": {"0": {"mAP": 0.4}, "1": {"mAP": 0.2}}},
            "LFB": {"1": {"0": {"mAP": 0.1}, "1": {"mAP": 0.3}}},
        },
    }
    last = ordering_lines(CLIP, HEADS, few)[-1]
    assert last.startswith("- few-shot k=1: SGFB > LFB (novel-class mAP, mean over seeds): 30.0")
    assert "SGFB ahead on 1 of 2 seeds" in last and last.endswith("HOLDS")

"""The few-shot run (ag_detectron.pipeline.few_shot, tools/few_shot.py): a tiny run on the clip
tests' Charades root with banks written here, the base/k-shot datasets, novel-class scoring on a
hand-checked score matrix, and the stage cache (a rerun trains nothing)."""

import importlib.util
import json
import os

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.data.datasets import register_charades
from ag_detectron.engine.testing import load_tool
from ag_detectron.errors import DatasetFormatError
from ag_detectron.feature_bank import BankProvenance, FeatureBankWriter, consolidate
from ag_detectron.feature_bank.oracle import oracle_provenance
from ag_detectron.feature_bank.scene_graph import scene_graph_provenance
from ag_detectron.pipeline.few_shot import (
    ensure_split,
    mean_over_classes,
    novel_class_map,
    register_few_shot_datasets,
    split_path,
    summarise,
)

_spec = importlib.util.spec_from_file_location(
    "_video_fixtures_fs", os.path.join(os.path.dirname(__file__), "..", "video", "conftest.py")
)
video_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(video_fixtures)

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs")
TRAIN, TEST = "fewshot_run_charades_train", "fewshot_run_charades_test"
BANK_VIDEOS = ("VIDA1", "VIDB2", "VIDD4")  # the videos with actions
LFB_DIM = 16


def _write_bank(bank_dir, provenance):
    writer = FeatureBankWriter(bank_dir, provenance, fsync=False)
    for i, vid in enumerate(BANK_VIDEOS):
        duration = video_fixtures.VIDEOS[vid][0] / 24.0
        times = np.arange(0.0, duration, 0.5)
        entries = np.full((len(times), provenance.dim), 0.1 * (i + 1), np.float32)
        writer.write(vid, times, entries, duration=duration)
    consolidate(bank_dir, videos=list(BANK_VIDEOS), fsync=False)
    return bank_dir


def _method_config(path, bank_kind, bank_dir, dim, fbo):
    base = os.path.abspath(os.path.join(CONFIGS, "quick_schedules", "sgfb_synth_instant_test.yaml"))
    with open(path, "w") as f:
        f.write(
            f'_BASE_: "{base}"\nMODEL:\n  SGFB:\n    BANK_KIND: "{bank_kind}"\n'
            f'    BANK_DIR: "{bank_dir}"\n    BANK_DIM: {dim}\n    FBO: {{NAME: "{fbo}"}}\n'
        )
    return str(path)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = video_fixtures.write_root(str(tmp_path_factory.mktemp("fewshot_charades")))
    for name, split in ((TRAIN, "train"), (TEST, "test")):
        if name in DatasetCatalog.list():
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)
        register_charades(name, root, split)
    return TRAIN, TEST


@pytest.fixture(scope="module")
def methods(tmp_path_factory):
    d = tmp_path_factory.mktemp("fewshot_banks")
    sg = _write_bank(str(d / "sg"), scene_graph_provenance())
    oracle = _write_bank(str(d / "oracle"), oracle_provenance())
    lfb = _write_bank(  # a per-seed bank: the config names it with {seed}
        str(d / "lfb_seed0"),
        BankProvenance(kind="lfb", dim=LFB_DIM, rate=2.0, vocabulary={"feature_dim": LFB_DIM}),
    ).replace("lfb_seed0", "lfb_seed{seed}")
    return {
        "LFB": _method_config(d / "lfb.yaml", "lfb", lfb, LFB_DIM, "avg"),
        "SGFB": _method_config(d / "sgfb.yaml", "scene_graph", sg, 910, "avg"),
        "SGFB Oracle": _method_config(d / "oracle.yaml", "oracle", oracle, 910, "max"),
    }


def _argv(out, methods, *flags):
    return [
        "--base-config",
        os.path.join(CONFIGS, "quick_schedules", "clip_classifier_synth_instant_test.yaml"),
        "--method-configs",
        *[f"{k}={v}" for k, v in methods.items()],
        "--shots",
        "1",
        "--seeds",
        "0",
        "--output",
        out,
        "--base-iters",
        "2",
        "--head-iters",
        "2",
        *flags,
        "DATASETS.TRAIN",
        f"('{TRAIN}',)",
        "DATASETS.TEST",
        f"('{TEST}',)",
        "MODEL.DEVICE",
        "cpu",
        *video_fixtures.TINY_CLIP_OPTS,
        "MODEL.VIDEO.STEM_WIDTH",
        "8",
        "TEST.CLIP.NUM_ENSEMBLE_VIEWS",
        "1",
        "SOLVER.CHECKPOINT_PERIOD",
        "100",
        "SEED",
        "1",
    ]


def test_tiny_run_table_and_cached_rerun(datasets, methods, tmp_path):
    tool = load_tool("few_shot")
    out = str(tmp_path / "few_shot")
    result = tool.main(_argv(out, methods))

    # the table: 3 methods x 1 k, one seed, finite novel-class mAPs in [0, 1]
    assert set(result["table"]) == set(methods)
    for per_k in result["table"].values():
        assert set(per_k) == {"1"}
        row = per_k["1"]
        assert row["num_seeds"] == 1 and row["mAP_std"] == 0.0
        assert 0.0 <= row["mAP_mean"] <= 1.0 and 0.0 <= row["mAP_sklearn_mean"] <= 1.0
    with open(os.path.join(out, "few_shot_results.json")) as f:
        saved = json.load(f)
    assert saved["table"] == result["table"] and saved["shots"] == [1]
    with open(os.path.join(out, "few_shot_results.md")) as f:
        md = f.read()
    for method in methods:  # one row per metric variant
        assert md.count(f"| {method} |") == 2

    # the base training set: no novel label; the k-shot set: a positive of every novel class
    novel = result["novel_classes"]["0"]
    base = DatasetCatalog.get(f"{TRAIN}_fewshot_s0_base")
    assert base and all(not v["labels"][c] for v in base for c in novel)
    shot = DatasetCatalog.get(f"{TRAIN}_fewshot_s0_k1")
    assert all(any(v["labels"][c] for v in shot) for c in novel)
    assert MetadataCatalog.get(f"{TEST}_fewshot_s0").novel_classes == novel
    assert len(DatasetCatalog.get(f"{TEST}_fewshot_s0")) == len(DatasetCatalog.get(TEST))

    # the stored per-class AP averaged over the novel classes is the reported number
    res_file = os.path.join(out, "seed0", "k1", "SGFB", "inference", "charades_results.json")
    with open(res_file) as f:
        ap = json.load(f)["ap"]
    assert result["runs"]["SGFB"]["1"]["0"]["mAP"] == pytest.approx(mean_over_classes(ap, novel))

    # every training stage ran once (base + 3 heads); the backbone is shared
    assert sorted(result["trained"]) == sorted(["seed0/base"] + [f"seed0/k1/{m}" for m in methods])
    stages = os.path.join(out, "stages.json")
    with open(stages) as f:
        keys = json.load(f)
    assert sorted(keys) == sorted(["seed0/base"] + [f"seed0/k1/{m}" for m in methods])
    weights = os.path.join(out, "seed0", "base", "model_final.pth")
    mtime = os.path.getmtime(weights)

    # rerun: nothing trains, same table
    again = tool.main(_argv(out, methods))
    assert again["trained"] == []
    assert again["table"] == result["table"]
    assert os.path.getmtime(weights) == mtime
    with open(stages) as f:
        assert json.load(f) == keys
    # a changed head schedule retrains the heads only
    argv = _argv(out, methods)
    argv[argv.index("--head-iters") + 1] = "3"
    retrained = tool.main(argv)["trained"]
    assert sorted(retrained) == sorted(f"seed0/k1/{m}" for m in methods)


def test_novel_class_map_hand_checked():
    """Columns: two base classes (0, 1) and a novel one (2)."""
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1]])
    scores = np.array(
        [[0.1, 0.5, 0.9], [0.2, 0.5, 0.8], [0.3, 0.5, 0.1], [0.4, 0.5, 0.2]], dtype=np.float64
    )
    # class 2 ranks v0 (+), v1 (-), v3 (+), v2 (-): AP = (1/1 + 2/3) / 2 = 5/6
    got = novel_class_map(scores, labels, [2])
    assert got["mAP"] == pytest.approx(5 / 6) and got["mAP_sklearn"] == pytest.approx(5 / 6)
    # base-class scores do not enter
    other = scores.copy()
    other[:, :2] = np.random.default_rng(0).random((4, 2))
    assert novel_class_map(other, labels, [2]) == got
    # class 0 ranks v3 (-), v2 (+), v1 (-), v0 (+): AP = (1/2 + 2/4) / 2 = 1/2
    assert novel_class_map(scores, labels, [0, 2])["mAP"] == pytest.approx((0.5 + 5 / 6) / 2)
    # a test video without any label, scored first for class 2: the official variant ranks it
    # last (-inf), the sklearn one counts it as a negative: v4 (-), v0 (+), v1 (-), v3 (+)
    labels5 = np.vstack([labels, [0, 0, 0]])
    scores5 = np.vstack([scores, [0.0, 0.0, 1.0]])
    got5 = novel_class_map(scores5, labels5, [2])
    assert got5["mAP"] == pytest.approx(5 / 6) and got5["mAP_sklearn"] == pytest.approx(0.5)
    # a novel class without a test positive is left out of the mean
    assert mean_over_classes([0.5, None, float("nan")], [0, 1, 2]) == 0.5


def test_summarise_mean_and_std_over_seeds():
    runs = {
        "SGFB": {
            "1": {"0": {"mAP": 0.2, "mAP_sklearn": 0.1}, "1": {"mAP": 0.4, "mAP_sklearn": 0.3}}
        }
    }
    row = summarise(runs)["SGFB"]["1"]
    assert row["mAP_mean"] == pytest.approx(0.3) and row["num_seeds"] == 2
    assert row["mAP_std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))


def test_split_written_once_and_checked(datasets, tmp_path):
    videos = DatasetCatalog.get(TRAIN)
    path = split_path(str(tmp_path), 3)
    split = ensure_split(path, videos, 3, [1])
    assert os.path.isfile(path) and sorted(split["shots"], key=int) == ["1", "5", "10"]
    assert ensure_split(path, videos, 3, [1]) == split  # read back, not drawn again
    with pytest.raises(DatasetFormatError, match="seed"):
        ensure_split(path, videos, 4, [1])
    with pytest.raises(DatasetFormatError, match="2"):
        ensure_split(path, videos, 3, [2])
    names = register_few_shot_datasets(TRAIN, TEST, path, [1, 5])
    assert set(names) == {"base", "test", "k1", "k5"}
    assert MetadataCatalog.get(names["k1"]).evaluator_type == "charades"


def test_base_only_stops_after_base_training(datasets, methods, tmp_path):
    out = str(tmp_path / "base_only")
    result = load_tool("few_shot").main(_argv(out, methods, "--base-only"))
    weights = os.path.join(out, "seed0", "base", "model_final.pth")
    assert result["trained"] == ["seed0/base"] and result["base_weights"] == {"0": weights}
    assert os.path.isfile(weights) and not os.path.exists(os.path.join(out, "seed0", "k1"))
    assert not os.path.exists(os.path.join(out, "few_shot_results.json"))


def test_prepare_seed_head_seeds_and_precomputed_clip_features(datasets, methods, tmp_path):
    """The demo's way: after each base training, ``prepare_seed`` extracts that seed's clip
    features with the base backbone into the ``{seed}`` directory the heads name; every head runs
    once per head seed and the seed's score is their mean."""
    from ag_detectron.config import get_ag_cfg
    from ag_detectron.feature_bank import FeatureBank
    from ag_detectron.feature_bank.extract import (
        ClipFeatureProducer,
        ExtractOptions,
        dataset_dicts,
        extract_bank,
    )
    from ag_detectron.pipeline.few_shot import FewShotOptions, run_few_shot

    argv = _argv(str(tmp_path), methods)
    opts = argv[argv.index("DATASETS.TRAIN") :]
    base_config = argv[argv.index("--base-config") + 1]
    out = str(tmp_path / "fs")
    clip_bank = os.path.join(out, "seed{seed}", "clip_bank")
    calls = []

    def prepare_seed(seed, base_weights, split):
        calls.append((seed, base_weights, sorted(split["shots"])))
        cfg = get_ag_cfg(base_config, [*opts, "MODEL.WEIGHTS", base_weights])
        eo = ExtractOptions(num_workers=0, progress=False, fsync=False)
        videos = [d for d in dataset_dicts([TRAIN, TEST]) if d["video_id"] in BANK_VIDEOS]
        extract_bank(ClipFeatureProducer(cfg, eo), clip_bank.format(seed=seed), videos, eo)

    result = run_few_shot(
        FewShotOptions(
            base_config=base_config,
            method_configs={"SGFB": methods["SGFB"]},
            output=out,
            seeds=(0,),
            shots=(1,),
            opts=[*opts, "MODEL.SGFB.CLIP_FEATURE_BANK", clip_bank, "DATALOADER.NUM_WORKERS", "0"],
            base_iters=2,
            head_iters=2,
            prepare_seed=prepare_seed,
            head_seeds=(0, 1),
        )
    )
    weights = os.path.join(out, "seed0", "base", "model_final.pth")
    assert calls == [(0, weights, ["1", "10", "5"])]
    assert FeatureBank(clip_bank.format(seed=0)).provenance.vocabulary["backbone_hash"]
    assert sorted(result["trained"]) == ["seed0/base", "seed0/k1/SGFB/h0", "seed0/k1/SGFB/h1"]
    novel = result["novel_classes"]["0"]
    per_head = []
    for h in (0, 1):
        res = os.path.join(out, "seed0", "k1", f"SGFB_h{h}", "inference", "charades_results.json")
        with open(res) as f:
            per_head.append(mean_over_classes(json.load(f)["ap"], novel))
    assert result["runs"]["SGFB"]["1"]["0"]["mAP"] == pytest.approx(np.mean(per_head))
    assert result["head_seeds"] == [0, 1]
    with open(os.path.join(out, "stages.json")) as f:
        keys = json.load(f)
    assert keys["seed0/k1/SGFB/h0"] != keys["seed0/k1/SGFB/h1"]  # the SEED enters the key

"""Paper-cut of issue 9: a trained relation model runs from its checkpoint alone; the training
statistics (FREQ_BIAS_FILE) are not needed at inference (tools/predict.py builds and loads exactly
like this)."""

import os
import tempfile
import unittest

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.modeling.relation_heads.freq_prior import (
    compute_predicate_counts,
    save_predicate_counts,
)
from ag_detectron.modeling.testing import default_frame, tiny_scene_graph_cfg
from ag_detectron.vocabulary import OBJECT_CLASSES, RELEASE


def _stats(path: str) -> str:
    rels = [
        {"subject": 0, "object": 1, "attention": [0], "spatial": [3], "contacting": [14]},
        {"subject": 0, "object": 2, "attention": [1], "spatial": [6], "contacting": [17]},
    ]
    dicts = [{"annotations": [{"category_id": c} for c in (0, 5, 12)], "relations": rels}]
    counts = compute_predicate_counts(dicts, len(OBJECT_CLASSES), RELEASE.size)
    save_predicate_counts(
        path, counts, list(OBJECT_CLASSES), list(RELEASE.classes), RELEASE.group_sizes, ["t"]
    )
    return path


class TestInferenceFromCheckpoint(unittest.TestCase):
    def _roundtrip(self, head: str):
        with tempfile.TemporaryDirectory() as d:
            cfg = tiny_scene_graph_cfg("predcls", head=head, freq_file=_stats(f"{d}/s.json"))
            torch.manual_seed(0)
            model = build_model(cfg)
            model.train()
            with EventStorage():
                model([default_frame(0)])  # trains fine with the stats
            with torch.no_grad():
                model.relation_head.freq_bias.table.add_(0.5)  # "learned": differs from the file
            DetectionCheckpointer(model, save_dir=d).save("model_final")
            model.eval()
            with torch.no_grad():
                expected = model([default_frame(1)])[0]["relations"]

            for missing in ("", os.path.join(d, "absent.json")):
                cfg2 = tiny_scene_graph_cfg("predcls", head=head, freq_file=missing)
                cfg2.MODEL.WEIGHTS = os.path.join(d, "model_final.pth")
                torch.manual_seed(1)
                loaded = build_model(cfg2)  # no ConfigError although the stats are missing
                DetectionCheckpointer(loaded).load(cfg2.MODEL.WEIGHTS)
                loaded.eval()
                with torch.no_grad():
                    got = loaded([default_frame(1)])[0]["relations"]
                for group in RELEASE.groups:
                    self.assertTrue(
                        torch.allclose(got.get(group.score_field), expected.get(group.score_field)),
                        (head, missing, group.name),
                    )
                # the checkpoint filled the table: training from it is allowed too
                loaded.train()
                with EventStorage():
                    losses = loaded([default_frame(0)])
                self.assertTrue(all(torch.isfinite(v) for v in losses.values()))

    def test_reldn(self):
        self._roundtrip("RelDNHead")

    def test_frequency_prior(self):
        self._roundtrip("FrequencyPriorHead")


if __name__ == "__main__":
    unittest.main()

"""tools/predict.py on a folder of frames and on a video: JSON schema, drawings, bad frames."""

import json
import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from PIL import Image

from ag_detectron.engine.testing import CONFIG_DIR, load_tool, tiny_config
from ag_detectron.errors import DatasetFormatError
from ag_detectron.modeling.relation_heads.freq_prior import PredicateCounts, save_predicate_counts
from ag_detectron.vocabulary import OBJECT_CLASSES, OBJECT_READABLE_NAMES, RELEASE

CONFIG = "quick_schedules/reldn_synth_sgdet_instant_test.yaml"


class TestPredict(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        root = cls._tmp.name
        cls.stats = os.path.join(root, "stats.json")

        counts = np.ones((len(OBJECT_CLASSES), RELEASE.size), dtype=np.int64)
        save_predicate_counts(
            cls.stats,
            PredicateCounts(counts.sum(1), counts),
            list(OBJECT_CLASSES),
            list(RELEASE.classes),
            RELEASE.group_sizes,
            ["test"],
        )
        torch.manual_seed(0)
        cfg = tiny_config(CONFIG, {"MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": cls.stats})
        cls.weights = os.path.join(root, "model.pth")
        model = build_model(cfg)
        with torch.no_grad():  # a random detector that does see persons and chairs
            model.roi_heads.box_predictor.cls_score.weight.zero_()
            model.roi_heads.box_predictor.cls_score.bias[:] = -5.0
            model.roi_heads.box_predictor.cls_score.bias[[0, OBJECT_CLASSES.index("chair")]] = 5.0
        DetectionCheckpointer(model, save_dir=root).save("model")
        rng = np.random.default_rng(0)
        cls.frames = os.path.join(root, "frames")
        os.makedirs(cls.frames)
        cls.images = [rng.integers(0, 255, (90, 160, 3), dtype=np.uint8) for _ in range(3)]
        for i, im in enumerate(cls.images):
            Image.fromarray(im).save(os.path.join(cls.frames, f"{i + 1:06d}.png"))
        cls.predict = load_tool("predict")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _argv(self, inp, out, *extra, stats=None):
        return [
            "--config-file",
            os.path.join(CONFIG_DIR, CONFIG),
            "--input",
            inp,
            "--output",
            out,
            *extra,
            "MODEL.WEIGHTS",
            self.weights,
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE",
            self.stats if stats is None else stats,
            "MODEL.ROI_HEADS.SCORE_THRESH_TEST",
            "0.0",
        ]

    def _check_record(self, record):
        self.assertEqual((record["width"], record["height"]), (160, 90))
        ids = {o["id"] for o in record["objects"]}
        self.assertGreater(len(record["relations"]), 0)
        for o in record["objects"]:
            self.assertEqual(o["class"], OBJECT_READABLE_NAMES[o["category_id"]])
            self.assertEqual(len(o["box"]), 4)
            self.assertTrue(0.0 <= o["score"] <= 1.0)
        for r in record["relations"]:
            self.assertIn(r["subject"], ids)
            self.assertIn(r["object"], ids)
            self.assertEqual([len(r[g]) for g in RELEASE.group_names], list(RELEASE.group_sizes))
            # readable names (ids unchanged: "category_id")
            self.assertEqual(list(r["attention"]), list(RELEASE.readable_names[:3]))
            self.assertIn("on the side of", r["spatial"])
            self.assertAlmostEqual(sum(r["attention"].values()), 1.0, places=2)
            for g in ("spatial", "contacting"):
                self.assertTrue(all(0.0 <= v <= 1.0 for v in r[g].values()))

    def test_folder_of_frames(self):
        out = os.path.join(self._tmp.name, "out_folder")
        result = self.predict.main(self._argv(self.frames, out, "--every", "2"))
        with open(os.path.join(out, "predictions.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved, json.loads(json.dumps(result)))
        self.assertEqual([r["frame"] for r in saved["frames"]], ["000001.png", "000003.png"])
        for record in saved["frames"]:
            self._check_record(record)
        self.assertEqual(
            sorted(os.listdir(os.path.join(out, "frames"))), ["000001.png", "000003.png"]
        )

    def test_checkpoint_alone_and_mode_in_another_case(self):
        # the trained checkpoint holds the frequency table: no stats file needed; MODE any case
        with_stats = self.predict.main(
            self._argv(
                self.frames, os.path.join(self._tmp.name, "a"), "--no-draw", "--max-frames", "1"
            )
        )
        without = self.predict.main(
            self._argv(
                self.frames,
                os.path.join(self._tmp.name, "b"),
                "--no-draw",
                "--max-frames",
                "1",
                "MODEL.ROI_RELATION_HEAD.MODE",
                "PredCls",
                stats="/nonexistent/stats.json",
            )
        )
        self.assertEqual(without["frames"], with_stats["frames"])
        self._check_record(without["frames"][0])

    def test_video_file(self):
        import av

        video = os.path.join(self._tmp.name, "clip.mp4")
        with av.open(video, "w") as container:
            stream = container.add_stream("mpeg4", rate=24)
            stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
            for im in self.images:
                for packet in stream.encode(av.VideoFrame.from_ndarray(im, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out = os.path.join(self._tmp.name, "out_video")
        result = self.predict.main(self._argv(video, out, "--no-draw"))
        self.assertEqual(
            [r["frame"] for r in result["frames"]], [f"clip.mp4#{i:06d}" for i in range(3)]
        )
        for record in result["frames"]:
            self._check_record(record)
        self.assertFalse(os.path.exists(os.path.join(out, "frames")))

    def test_video_file_with_actions(self):
        """Scene graphs and actions in one run: both files beside each other."""
        import av

        from ag_detectron.checkpoint import VideoCheckpointer
        from ag_detectron.config import get_ag_cfg

        clip_config = os.path.join(
            CONFIG_DIR, "quick_schedules", "clip_classifier_synth_instant_test.yaml"
        )
        torch.manual_seed(0)
        clip_model = build_model(get_ag_cfg(clip_config))
        VideoCheckpointer(clip_model, save_dir=self._tmp.name).save("clip")
        video = os.path.join(self._tmp.name, "both.mp4")
        with av.open(video, "w") as container:
            stream = container.add_stream("mpeg4", rate=24)
            stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
            for im in self.images * 10:  # 30 frames: 1.25 s -> clip centres 0 s and 1 s
                for packet in stream.encode(av.VideoFrame.from_ndarray(im, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out = os.path.join(self._tmp.name, "out_both")
        result = self.predict.main(
            self._argv(
                video,
                out,
                "--no-draw",
                "--max-frames",
                "2",
                "--actions-config",
                clip_config,
                "--actions-weights",
                os.path.join(self._tmp.name, "clip.pth"),
            )
        )
        self.assertEqual(
            [r["frame"] for r in result["frames"]], ["both.mp4#000000", "both.mp4#000001"]
        )
        self.assertEqual([c["time"] for c in result["actions"]["clips"]], [0.0, 1.0])
        self.assertEqual(result["actions"]["video_id"], "both")
        for name in ("predictions.json", "actions.json", "actions_timeline.png"):
            self.assertTrue(os.path.isfile(os.path.join(out, name)), name)

    def test_undecodable_frame(self):
        bad = os.path.join(self._tmp.name, "bad_frames")
        os.makedirs(bad, exist_ok=True)
        with open(os.path.join(bad, "000001.png"), "wb") as f:
            f.write(b"garbage")
        with self.assertRaisesRegex(DatasetFormatError, "000001.png"):
            self.predict.main(self._argv(bad, os.path.join(self._tmp.name, "out_bad")))


if __name__ == "__main__":
    unittest.main()

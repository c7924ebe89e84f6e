"""tools/predict.py --actions-config: top actions over time of a video (actions.json + figure)."""

import importlib.util
import json
import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.modeling import build_model
from PIL import Image

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.checkpoint import VideoCheckpointer
from ag_detectron.config import get_ag_cfg
from ag_detectron.engine.action_timeline import (
    ActionTimelinePredictor,
    centred_clip_frames,
    clip_centres,
)
from ag_detectron.engine.testing import CONFIG_DIR, load_tool
from ag_detectron.errors import ConfigError

CLIP_CONFIG = os.path.join(CONFIG_DIR, "quick_schedules/clip_classifier_synth_instant_test.yaml")
NUM_FRAMES_24 = 60  # 2.5 s at 24 fps -> clip centres 0, 1, 2 s (stride 1 s)


def _frame(n: int) -> np.ndarray:
    """A 96x72 frame whose content moves with the frame number (the model sees different clips)."""
    img = np.zeros((72, 96, 3), dtype=np.uint8)
    img[..., 0] = (4 * n) % 256
    img[:, (n % 90) : (n % 90) + 6, 1] = 255
    return img


class TestPredictActions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        root = cls._tmp.name
        torch.manual_seed(0)
        cfg = get_ag_cfg(CLIP_CONFIG, [])
        model = build_model(cfg)
        with torch.no_grad():  # spread the random scores so that the top-k order is not trivial
            model.cls_score.weight.normal_(std=1.0)
            model.cls_score.bias.normal_(std=1.0)
        cls.num_classes = cfg.MODEL.VIDEO.NUM_CLASSES
        VideoCheckpointer(model, save_dir=root).save("clip")
        cls.weights = os.path.join(root, "clip.pth")
        cls.video_dir = os.path.join(root, "VIDX1")  # a Charades-style JPEG folder
        os.makedirs(cls.video_dir)
        for n in range(1, NUM_FRAMES_24 + 1):
            Image.fromarray(_frame(n)).save(
                os.path.join(cls.video_dir, f"VIDX1-{n:06d}.jpg"), quality=95
            )
        cls.classes_file = os.path.join(root, "classes.txt")
        with open(cls.classes_file, "w") as f:
            f.write("".join(f"c{k:03d} Action number {k}\n" for k in range(cls.num_classes)))
        cls.predict = load_tool("predict")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _run(self, inp, name, *extra):
        out = os.path.join(self._tmp.name, name)
        argv = [
            "--actions-config",
            CLIP_CONFIG,
            "--actions-weights",
            self.weights,
            "--input",
            inp,
            "--output",
            out,
            "--action-classes",
            self.classes_file,
            *extra,
        ]
        return out, self.predict.main(argv)

    def _check_actions(self, out, result, top_k):
        with open(os.path.join(out, "actions.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved, json.loads(json.dumps(result["actions"])))
        self.assertEqual(saved["num_classes"], self.num_classes)
        times = [c["time"] for c in saved["clips"]]
        self.assertEqual(times, [0.0, 1.0, 2.0])
        for clip in saved["clips"]:
            self.assertEqual(len(clip["frames"]), 8)  # INPUT.CLIP.NUM_FRAMES of the config
            self.assertTrue(all(1 <= n <= NUM_FRAMES_24 for n in clip["frames"]))
            scores = [a["score"] for a in clip["top"]]
            self.assertEqual(len(scores), top_k)
            self.assertEqual(scores, sorted(scores, reverse=True))
            self.assertTrue(all(0.0 <= s <= 1.0 for s in scores))
            for a in clip["top"]:
                self.assertEqual(a["name"], f"Action number {a['id']}")
        # different clips give different scores (the frames are read per clip)
        self.assertNotEqual(saved["clips"][0]["top"], saved["clips"][2]["top"])
        with Image.open(os.path.join(out, "actions_timeline.png")) as im:
            im.verify()
        with Image.open(os.path.join(out, "actions_timeline.png")) as im:
            self.assertGreater(im.size[0], 300)
            self.assertGreater(im.size[1], 150)
        return saved

    def test_frame_folder(self):
        out, result = self._run(self.video_dir, "out_folder", "--action-top-k", "4")
        saved = self._check_actions(out, result, top_k=4)
        self.assertEqual(saved["video_id"], "VIDX1")
        self.assertFalse(os.path.exists(os.path.join(out, "predictions.json")))

    def test_video_file_matches_folder_scores(self):
        import av

        video = os.path.join(self._tmp.name, "VIDX1.mp4")
        with av.open(video, "w") as container:
            stream = container.add_stream("libx264", rate=24, options={"crf": "0"})
            stream.width, stream.height, stream.pix_fmt = 96, 72, "yuv444p"
            for n in range(1, NUM_FRAMES_24 + 1):
                frame = av.VideoFrame.from_ndarray(_frame(n), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out, result = self._run(video, "out_video")
        saved = self._check_actions(out, result, top_k=5)
        self.assertEqual(saved["video_id"], "VIDX1")
        _, from_folder = self._run(self.video_dir, "out_folder2")
        # same frames, same clips: the same top classes (JPEG vs video coding: close scores)
        for a, b in zip(saved["clips"], from_folder["actions"]["clips"]):
            self.assertEqual(a["frames"], b["frames"])
            self.assertEqual(a["top"][0]["id"], b["top"][0]["id"])

    def test_clip_config_without_weights(self):
        out = os.path.join(self._tmp.name, "out_noweights")
        with self.assertRaisesRegex(ConfigError, "MODEL.WEIGHTS.*actions"):
            self.predict.main(
                ["--actions-config", CLIP_CONFIG, "--input", self.video_dir, "--output", out]
            )
        with self.assertRaisesRegex(ConfigError, "no such file"):
            self.predict.main(
                [
                    "--actions-config",
                    CLIP_CONFIG,
                    "--actions-weights",
                    "/nonexistent/w.pth",
                    "--input",
                    self.video_dir,
                    "--output",
                    out,
                ]
            )

    def test_clip_geometry(self):
        # 8 frames stride 4 span 29 frames; centre 1 s = frame 25 -> start 11
        self.assertEqual(centred_clip_frames(1.0, 8, 4, 60).tolist(), list(range(11, 40, 4)))
        # at 0 s the frames before frame 1 repeat frame 1
        self.assertEqual(centred_clip_frames(0.0, 8, 4, 60).tolist(), [1, 1, 1, 1, 3, 7, 11, 15])
        self.assertEqual(clip_centres(60, 1.0), [0.0, 1.0, 2.0])
        self.assertEqual(clip_centres(1, 0.5), [0.0])
        with self.assertRaises(ConfigError):
            clip_centres(60, 0.0)


def _sgfb_fixtures():
    """tests/sgfb/conftest.py as a module (its tiny Charades root and bank writer)."""
    path = os.path.join(os.path.dirname(__file__), "..", "sgfb", "conftest.py")
    spec = importlib.util.spec_from_file_location("_sgfb_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestSGFBActions(unittest.TestCase):
    def test_bank_windows_at_clip_centres_and_missing_video(self):
        from ag_detectron.feature_bank.scene_graph import scene_graph_provenance

        fx = _sgfb_fixtures()
        with tempfile.TemporaryDirectory() as tmp:
            root = fx.video_fixtures.write_root(os.path.join(tmp, "root"))
            bank = fx.write_bank(os.path.join(tmp, "bank"), scene_graph_provenance())
            cfg = get_ag_cfg(
                os.path.join(CONFIG_DIR, "quick_schedules", "sgfb_synth_instant_test.yaml"),
                [],
                freeze=False,
            )
            cfg.MODEL.DEVICE = "cpu"
            # a 4-class model: no dataset to check it against (the builtin synthetic splits
            # exist once `make demo` has run, with their own class count)
            cfg.DATASETS.TRAIN, cfg.DATASETS.TEST = (), ()
            cfg.MODEL.VIDEO.NUM_CLASSES = 4
            cfg.MODEL.SGFB.BANK_DIR = bank
            cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE = 4, 4
            cfg.INPUT.CLIP.TEST_CROP_SIZE = 24
            torch.manual_seed(0)
            VideoCheckpointer(build_model(cfg), save_dir=tmp).save("sgfb")
            cfg.MODEL.WEIGHTS = os.path.join(tmp, "sgfb.pth")
            predictor = ActionTimelinePredictor(cfg)
            calls = []
            window = predictor.bank.window
            predictor.bank.window = lambda vid, c, spec: (
                calls.append((vid, c)) or window(vid, c, spec)
            )
            # VIDA1: 60 frames at 24 fps -> centres 0, 1, 2 s
            result = predictor(os.path.join(root, "Charades_v1_rgb", "VIDA1"), stride_s=1.0)
            self.assertEqual(calls, [("VIDA1", 0.0), ("VIDA1", 1.0), ("VIDA1", 2.0)])
            self.assertEqual([c["time"] for c in result["clips"]], [0.0, 1.0, 2.0])
            for c in result["clips"]:
                self.assertEqual(c["scores"].shape, (4,))
                self.assertTrue(((c["scores"] >= 0) & (c["scores"] <= 1)).all())
            with self.assertRaisesRegex(ConfigError, "VIDC3.*not in the feature bank"):
                predictor(os.path.join(root, "Charades_v1_rgb", "VIDC3"))


if __name__ == "__main__":
    unittest.main()

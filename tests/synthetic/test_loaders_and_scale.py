"""Synthetic files load through the release code paths; the real-scale mode keeps the format."""

import importlib.util
import os
import pickle
import shutil
import tempfile
import unittest

import numpy as np

from ag_detectron.data.synthetic import ACTION_CLASSES, generate

_TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "make_synthetic_ag.py")


class TestThroughLoaders(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ag_synth_load_")
        cls.root = os.path.join(cls.tmp, "ag_synth")
        cls.res = generate(cls.root, num_videos=5, seed=2, test_fraction=0.4, num_workers=1)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_load_action_genome(self):
        from ag_detectron.data.datasets import load_action_genome, load_video_fps

        with open(
            os.path.join(self.root, "annotations", "object_bbox_and_relationship.pkl"), "rb"
        ) as f:
            objects = pickle.load(f)
        total = 0
        for split in ("train", "test"):
            dicts = load_action_genome(self.root, split, use_cache=False)
            self.assertEqual(len(dicts), self.res.stats[f"{split}_frames"])
            total += len(dicts)
            for d in dicts:
                self.assertTrue(os.path.isfile(d["file_name"]), d["file_name"])
                self.assertEqual((d["width"], d["height"]), (320, 180))
                raw = objects[d["image_id"]]
                vis = [o for o in raw if o["visible"]]
                self.assertEqual(len(d["relations"]), len(vis))
                for r, o in zip(d["relations"], vis):
                    ann = d["annotations"][r["object"]]
                    x, y, w, h = o["bbox"]
                    np.testing.assert_allclose(ann["bbox"], [x, y, x + w, y + h], atol=1e-4)
                    self.assertEqual(len(r["attention"]), 1)
                    self.assertTrue(all(3 <= s < 9 for s in r["spatial"]))
                    self.assertTrue(all(9 <= c < 26 for c in r["contacting"]))
        self.assertEqual(total, self.res.stats["frames"])
        fps = load_video_fps(os.path.join(self.root, "annotations", "video_fps.json"))
        self.assertEqual(len(fps), 5)

    def test_load_charades(self):
        from ag_detectron.data.datasets import load_charades

        n = 0
        for split in ("train", "test"):
            videos = load_charades(self.root, split)
            n += len(videos)
            for v in videos:
                self.assertEqual(len(v["labels"]), len(ACTION_CLASSES))
                self.assertTrue(os.path.isdir(v["frame_dir"]))
                self.assertGreater(sum(v["labels"]), 0)
                for cls, start, end in v["actions"]:
                    self.assertTrue(
                        0 <= cls < len(ACTION_CLASSES) and 0 <= start < end <= v["length"] + 1e-6
                    )
        self.assertEqual(n, 5)


class TestScaleMode(unittest.TestCase):
    def test_annotations_only_format_and_statistics(self):
        tmp = tempfile.mkdtemp(prefix="ag_synth_scale_")
        try:
            root = os.path.join(tmp, "s")
            res = generate(root, annotations_only=True, scale_frames=3000, seed=1)
            self.assertFalse(os.path.exists(os.path.join(root, "frames")))
            ann = os.path.join(root, "annotations")
            with open(os.path.join(ann, "person_bbox.pkl"), "rb") as f:
                persons = pickle.load(f)
            with open(os.path.join(ann, "object_bbox_and_relationship.pkl"), "rb") as f:
                objects = pickle.load(f)
            self.assertEqual(len(objects), 3000)
            self.assertEqual(set(objects), set(persons))
            self.assertEqual(os.path.getsize(os.path.join(ann, "frame_list.txt")), 21 * 3000)
            n_obj = sum(len(v) for v in objects.values())
            self.assertTrue(2.3 < n_obj / 3000 < 2.8, n_obj)
            self.assertLessEqual(max(len(v) for v in objects.values()), 9)
            no_person = sum(p["bbox"].shape[0] == 0 for p in persons.values()) / 3000
            self.assertTrue(0.1 < no_person < 0.3, no_person)
            vis = [o for v in objects.values() for o in v if o["visible"]]
            self.assertTrue(0.65 < len(vis) / n_obj < 0.85)
            rel = sum(
                1 + len(o["spatial_relationship"]) + len(o["contacting_relationship"]) for o in vis
            )
            self.assertTrue(2.9 < rel / len(vis) < 3.4)
            self.assertEqual(res.stats["relations"], rel)
            for key, v in list(objects.items())[:300]:
                classes = [o["class"] for o in v]
                self.assertEqual(len(classes), len(set(classes)))
                p = persons[key]
                self.assertEqual(p["bbox"].dtype, np.float32)
                self.assertEqual(p["keypoints"].shape, (p["bbox"].shape[0], 17, 3))
                for o in v:
                    if o["visible"]:
                        self.assertIsInstance(o["bbox"], tuple)
                        self.assertIs(type(o["bbox"][0]), float)
                    else:
                        self.assertIsNone(o["spatial_relationship"])
                    self.assertEqual(
                        o["metadata"]["tag"],
                        f"{key[:5]}.mp4/{o['class'].replace('/', '_')}/{key[10:16]}",
                    )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestCommandLine(unittest.TestCase):
    def test_make_synthetic_ag_cli(self):
        spec = importlib.util.spec_from_file_location("make_synthetic_ag", _TOOL)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tmp = tempfile.mkdtemp(prefix="ag_synth_cli_")
        try:
            out = os.path.join(tmp, "d")
            self.assertEqual(
                mod.main(["--out", out, "--videos", "2", "--seed", "9", "--workers", "1"]), 0
            )
            self.assertTrue(os.path.isfile(os.path.join(out, "annotations", "person_bbox.pkl")))
            with self.assertRaises(FileExistsError):
                mod.main(["--out", out, "--videos", "2", "--seed", "9"])
            self.assertEqual(
                mod.main(["--out", out, "--videos", "2", "--seed", "9", "--exist-ok"]), 0
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

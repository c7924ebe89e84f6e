"""Format fidelity and determinism of the synthetic Action Genome generator (tiny worlds)."""

import csv
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import unittest

import numpy as np

from ag_detectron.data.datasets.ag_categories import (
    PKL_OBJECT_NAMES,
    PKL_PREDICATE_NAMES,
    VOCAB_DIR,
)
from ag_detectron.data.synthetic import ACTION_CLASSES, generate

_ATT = set(PKL_PREDICATE_NAMES[0:3])
_SPA = set(PKL_PREDICATE_NAMES[3:9])
_CON = set(PKL_PREDICATE_NAMES[9:26])


def _tree_digest(root):
    """sha256 of every file under root (relative path -> digest), generation.json excluded."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            if rel == "generation.json":
                continue
            with open(p, "rb") as fh:
                out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


class TestSyntheticFormat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ag_synth_test_")
        cls.root = os.path.join(cls.tmp, "ag_synth")
        cls.result = generate(cls.root, num_videos=6, seed=3, test_fraction=0.34, num_workers=1)
        ann = os.path.join(cls.root, "annotations")
        with open(os.path.join(ann, "person_bbox.pkl"), "rb") as f:
            cls.persons = pickle.load(f)
        with open(os.path.join(ann, "object_bbox_and_relationship.pkl"), "rb") as f:
            cls.objects = pickle.load(f)
        with open(os.path.join(ann, "frame_list.txt"), "rb") as f:
            cls.frame_list = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_keys_and_frame_list(self):
        self.assertEqual(set(self.persons), set(self.objects))
        lines = self.frame_list.split(b"\n")
        self.assertEqual(lines[-1], b"")  # every line newline-terminated
        self.assertEqual(len(self.frame_list), 21 * len(self.objects))
        self.assertEqual([ln.decode() for ln in lines[:-1]], list(self.objects))
        for key in self.objects:
            vid, fname = key.split("/")
            self.assertEqual(len(vid), 9, key)
            self.assertTrue(vid.endswith(".mp4"))
            self.assertRegex(fname, r"^\d{6}\.png$")
            self.assertGreaterEqual(int(fname[:-4]), 1)
            self.assertTrue(os.path.isfile(os.path.join(self.root, "frames", key)), key)
        self.assertEqual(self.result.stats["frames"], len(self.objects))

    def test_class_files_are_byte_copies(self):
        for name in ("object_classes.txt", "relationship_classes.txt"):
            with (
                open(os.path.join(VOCAB_DIR, name), "rb") as a,
                open(os.path.join(self.root, "annotations", name), "rb") as b,
            ):
                self.assertEqual(a.read(), b.read())

    def test_person_entries(self):
        n_empty = 0
        for key, p in self.persons.items():
            self.assertEqual(
                list(p),
                ["bbox", "bbox_score", "bbox_size", "bbox_mode", "keypoints", "keypoints_logits"],
            )
            n = p["bbox"].shape[0]
            self.assertIn(n, (0, 1))
            n_empty += n == 0
            self.assertEqual(p["bbox"].dtype, np.float32)
            self.assertEqual(p["bbox"].shape, (n, 4))
            self.assertEqual(p["bbox_score"].shape, (n,))
            self.assertEqual(p["bbox_score"].dtype, np.float32)
            self.assertEqual(p["keypoints"].shape, (n, 17, 3))
            self.assertEqual(p["keypoints"].dtype, np.float32)
            self.assertEqual(p["keypoints_logits"].shape, (n, 17))
            self.assertEqual(p["keypoints_logits"].dtype, np.float32)
            self.assertEqual(p["bbox_size"], (320, 180))
            self.assertIsInstance(p["bbox_size"][0], int)
            self.assertEqual(p["bbox_mode"], "xyxy")
            if n:
                x1, y1, x2, y2 = p["bbox"][0].tolist()
                self.assertTrue(0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 180, key)
                np.testing.assert_array_equal(p["keypoints"][0, :, 2], 1.0)

    def test_object_entries(self):
        splits = {}
        for key, objs in self.objects.items():
            self.assertIsInstance(objs, list)
            self.assertGreater(len(objs), 0, key)
            classes = [o["class"] for o in objs]
            self.assertEqual(len(classes), len(set(classes)), f"{key}: one instance per class")
            vid, frame = key[:5], key.split("/")[1][:6]
            for o in objs:
                self.assertEqual(
                    list(o),
                    [
                        "class",
                        "bbox",
                        "attention_relationship",
                        "spatial_relationship",
                        "contacting_relationship",
                        "metadata",
                        "visible",
                    ],
                )
                self.assertIn(o["class"], PKL_OBJECT_NAMES[1:])
                self.assertEqual(
                    o["metadata"]["tag"], f"{vid}.mp4/{o['class'].replace('/', '_')}/{frame}"
                )
                self.assertIn(o["metadata"]["set"], ("train", "test"))
                splits.setdefault(vid, set()).add(o["metadata"]["set"])
                self.assertIs(type(o["visible"]), bool)
                if not o["visible"]:
                    for f in (
                        "bbox",
                        "attention_relationship",
                        "spatial_relationship",
                        "contacting_relationship",
                    ):
                        self.assertIsNone(o[f], f"{key} {f}")
                    continue
                self.assertIsInstance(o["bbox"], tuple)
                self.assertEqual(len(o["bbox"]), 4)
                for v in o["bbox"]:
                    self.assertIs(type(v), float)
                x, y, w, h = o["bbox"]
                self.assertTrue(
                    w > 0
                    and h > 0
                    and x >= 0
                    and y >= 0
                    and x + w <= 320 + 1e-6
                    and y + h <= 180 + 1e-6,
                    key,
                )
                self.assertEqual(len(o["attention_relationship"]), 1)
                self.assertTrue(set(o["attention_relationship"]) <= _ATT)
                self.assertTrue(set(o["spatial_relationship"]) <= _SPA)
                self.assertTrue(set(o["contacting_relationship"]) <= _CON)
                self.assertGreater(len(o["contacting_relationship"]), 0)
                self.assertEqual(
                    len(set(o["spatial_relationship"])), len(o["spatial_relationship"])
                )
        for vid, s in splits.items():
            self.assertEqual(len(s), 1, f"video {vid} spans splits {s}")
        self.assertEqual({s.pop() for s in splits.values()}, {"train", "test"})

    def test_charades_files(self):
        with open(os.path.join(self.root, "Charades_v1_classes.txt")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), len(ACTION_CLASSES))
        self.assertEqual(lines[0], f"c000 {ACTION_CLASSES[0].description}")
        with open(os.path.join(self.root, "annotations", "video_fps.json")) as f:
            fps = json.load(f)
        ids = set()
        for split in ("train", "test"):
            with open(os.path.join(self.root, f"Charades_v1_{split}.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
                f.seek(0)
                self.assertEqual(
                    f.readline().strip(),
                    "id,subject,scene,quality,relevance,verified,script,objects,descriptions,"
                    "actions,length",
                )
            for r in rows:
                ids.add(r["id"])
                length = float(r["length"])
                self.assertRegex(r["length"], r"^\d+\.\d\d$")
                for item in r["actions"].split(";"):
                    cls, start, end = item.split(" ")
                    self.assertRegex(cls, r"^c\d{3}$")
                    self.assertRegex(start, r"^\d+\.\d\d$")
                    self.assertTrue(0 <= float(start) < float(end) <= length + 1e-6)
                jdir = os.path.join(self.root, "Charades_v1_rgb", r["id"])
                jpgs = sorted(os.listdir(jdir))
                self.assertEqual(jpgs[0], f"{r['id']}-000001.jpg")
                self.assertEqual(len(jpgs), int(length * 24 + 1e-6))
        self.assertEqual(ids, set(fps))
        self.assertEqual({k[:5] for k in self.objects}, ids)
        self.assertTrue(all(v in (24, 25, 30) for v in fps.values()))

    def test_deterministic_and_worker_independent(self):
        other = os.path.join(self.tmp, "again")
        generate(other, num_videos=6, seed=3, test_fraction=0.34, num_workers=2)
        self.assertEqual(_tree_digest(self.root), _tree_digest(other))
        third = os.path.join(self.tmp, "seed4")
        generate(third, num_videos=6, seed=4, test_fraction=0.34, num_workers=1)
        d3 = _tree_digest(third)
        self.assertNotEqual(
            d3["annotations/object_bbox_and_relationship.pkl"],
            _tree_digest(self.root)["annotations/object_bbox_and_relationship.pkl"],
        )

    def test_existing_dir_and_atomicity(self):
        with self.assertRaises(FileExistsError):
            generate(self.root, num_videos=6, seed=3, test_fraction=0.34, num_workers=1)
        reused = generate(
            self.root, num_videos=6, seed=3, test_fraction=0.34, num_workers=1, exist_ok=True
        )
        self.assertTrue(reused.reused)
        leftovers = [n for n in os.listdir(self.tmp) if ".tmp-" in n or ".old-" in n]
        self.assertEqual(leftovers, [])
        # a run killed before its rename leaves .<name>.tmp-<pid>; the next run removes it
        stale = os.path.join(self.tmp, ".killed.tmp-999999999")
        os.makedirs(os.path.join(stale, "annotations"))
        generate(os.path.join(self.tmp, "killed"), num_videos=1, seed=3, num_workers=1)
        self.assertFalse(os.path.exists(stale))


if __name__ == "__main__":
    unittest.main()

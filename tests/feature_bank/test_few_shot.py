"""Few-shot splits: invariants, determinism, and bad split files."""

import json
import os
import shutil
import tempfile
import unittest

import numpy as np

from ag_detectron.errors import DatasetFormatError
from ag_detectron.feature_bank.few_shot import (
    default_num_novel,
    load_few_shot_split,
    make_few_shot_split,
    validate_few_shot_split,
    write_few_shot_split,
)


def _videos(num_videos=2500, num_classes=157, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(num_videos):
        labels = [0] * num_classes
        for c in rng.choice(num_classes, rng.integers(0, 5), replace=False):
            labels[int(c)] = 1
        out.append({"video_id": f"V{i:04d}", "labels": labels})
    return out


class TestSplit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.videos = _videos()
        cls.labels = {
            v["video_id"]: {c for c, x in enumerate(v["labels"]) if x} for v in cls.videos
        }

    def test_invariants(self):
        split = make_few_shot_split(self.videos, 157, seed=3)
        novel, base = set(split["novel_classes"]), set(split["base_classes"])
        self.assertEqual((len(novel), len(base)), (20, 137))
        self.assertFalse(novel & base)
        self.assertEqual(novel | base, set(range(157)))
        base_train = set(split["base_train_videos"])
        # base training: exactly the videos without a novel label
        self.assertEqual(base_train, {v for v, ls in self.labels.items() if not ls & novel})
        for k in (1, 5, 10):
            entry = split["shots"][str(k)]
            vids = entry["videos"]
            self.assertEqual(len(vids), len(set(vids)))
            self.assertFalse(base_train & set(vids))
            for c in novel:
                positives = sum(c in self.labels[v] for v in vids)
                self.assertGreaterEqual(positives, k)
                self.assertEqual(entry["positives_per_class"][str(c)], positives)
                self.assertLessEqual(len(entry["drawn_per_class"][str(c)]), k)
                for v in entry["drawn_per_class"][str(c)]:
                    self.assertIn(c, self.labels[v])
            self.assertLessEqual(len(vids), 20 * k)
            self.assertEqual(entry["shortfall"], {})
        validate_few_shot_split(split, self.videos)

    def test_determinism_per_seed(self):
        a = make_few_shot_split(self.videos, 157, seed=1)
        b = make_few_shot_split(list(reversed(self.videos)), 157, seed=1)
        self.assertEqual(a, b)  # independent of the input order
        c = make_few_shot_split(self.videos, 157, seed=2)
        self.assertNotEqual(a["novel_classes"], c["novel_classes"])
        expected = sorted(int(x) for x in np.random.default_rng(1).choice(157, 20, replace=False))
        self.assertEqual(a["novel_classes"], expected)

    def test_counting_rule_hand_made(self):
        # 3 classes, 1 novel; class ids: A carries {0, 2}, B {2}, C {1}, D {1, 2}
        videos = [
            {"video_id": "A", "labels": [1, 0, 1]},
            {"video_id": "B", "labels": [0, 0, 1]},
            {"video_id": "C", "labels": [0, 1, 0]},
            {"video_id": "D", "labels": [0, 1, 1]},
        ]
        split = make_few_shot_split(videos, 3, seed=0, num_novel=2, shots=(1, 2))
        novel = split["novel_classes"]
        self.assertEqual(len(novel), 2)
        holders = {c: {v["video_id"] for v in videos if v["labels"][c]} for c in range(3)}
        base = split["base_classes"][0]
        self.assertEqual(
            set(split["base_train_videos"]),
            {v["video_id"] for v in videos if not any(v["labels"][c] for c in novel)},
        )
        self.assertEqual(split["base_classes"], [base])
        for k in (1, 2):
            vids = set(split["shots"][str(k)]["videos"])
            for c in novel:
                self.assertGreaterEqual(len(vids & holders[c]), min(k, len(holders[c])))

    def test_shortfall_recorded_and_warned(self):
        # 3 videos of each class, 4 without a label: k = 5 is 2 short for the novel class
        videos = [{"video_id": f"V{i}", "labels": [int(i < 3), int(3 <= i < 6)]} for i in range(10)]
        with self.assertLogs("ag_detectron.feature_bank.few_shot", "WARNING"):
            split = make_few_shot_split(videos, 2, seed=0, num_novel=1, shots=(5,))
        c = split["novel_classes"][0]
        entry = split["shots"]["5"]
        self.assertEqual(entry["positives_per_class"][str(c)], 3)
        self.assertEqual(entry["shortfall"], {str(c): 2})
        validate_few_shot_split(split, videos)  # min(k, available) positives

    def test_proportional_vocabulary(self):
        self.assertEqual(default_num_novel(157), 20)
        self.assertEqual(default_num_novel(20), 3)  # round(20 * 20 / 157) = round(2.55)
        self.assertEqual(default_num_novel(4), 1)


class TestSplitFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fewshot_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.videos = _videos(300)
        self.split = make_few_shot_split(self.videos, 157, seed=0)
        self.path = write_few_shot_split(self.split, os.path.join(self.dir, "seed0.json"))
        self.ids = [v["video_id"] for v in self.videos]

    def _rewrite(self, **changes):
        split = json.loads(json.dumps(self.split))
        split.update(changes)
        with open(self.path, "w") as f:
            json.dump(split, f)

    def test_round_trip(self):
        self.assertEqual(load_few_shot_split(self.path, 157, self.ids), self.split)

    def test_unknown_video(self):
        self._rewrite(base_train_videos=self.split["base_train_videos"] + ["NOPE1"])
        with self.assertRaisesRegex(
            DatasetFormatError, rf"^{self.path}: .*unknown videos \['NOPE1'\]"
        ):
            load_few_shot_split(self.path, 157, self.ids)

    def test_unknown_class(self):
        self._rewrite(novel_classes=self.split["novel_classes"][:-1] + [157])
        with self.assertRaisesRegex(
            DatasetFormatError, rf"^{self.path}: .*unknown classes \[157\]"
        ):
            load_few_shot_split(self.path, 157, self.ids)

    def test_other_vocabulary(self):
        with self.assertRaisesRegex(DatasetFormatError, "'num_classes' is 157; the dataset has 20"):
            load_few_shot_split(self.path, 20)

    def test_overlap_and_novel_labels_in_base(self):
        shot = self.split["shots"]["1"]["videos"][0]
        self._rewrite(base_train_videos=self.split["base_train_videos"] + [shot])
        with self.assertRaisesRegex(DatasetFormatError, "also base training videos"):
            load_few_shot_split(self.path, 157)
        bad = dict(self.split, base_train_videos=self.split["base_train_videos"] + [shot])
        with self.assertRaisesRegex(DatasetFormatError, f"base training video '{shot}' carries"):
            validate_few_shot_split(bad, self.videos, self.path)

    def test_not_a_split(self):
        with open(self.path, "w") as f:
            f.write("{")
        with self.assertRaisesRegex(DatasetFormatError, "not valid JSON"):
            load_few_shot_split(self.path)


if __name__ == "__main__":
    unittest.main()

"""Long Charades-only videos: base world unchanged, shots in a row, deterministic, loadable."""

import filecmp
import os
import tempfile
import unittest

from ag_detectron.data import video_io
from ag_detectron.data.datasets import load_charades
from ag_detectron.data.synthetic import generate
from ag_detectron.data.synthetic.long_videos import MAX_SHOTS, MIN_SHOTS, script_long_video


def _same_tree(a: str, b: str) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return (
        not mismatch
        and not errors
        and all(_same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)
    )


class TestLongVideos(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        t = cls.tmp.name
        kw = dict(num_videos=3, width=160, height=90)
        cls.base = generate(os.path.join(t, "base"), num_workers=1, **kw)
        cls.long1 = generate(os.path.join(t, "l1"), charades_long_videos=3, num_workers=1, **kw)
        cls.long2 = generate(os.path.join(t, "l2"), charades_long_videos=3, num_workers=2, **kw)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_base_world_unchanged(self):
        b, l1 = self.base.root, self.long1.root
        for sub in ("annotations", "frames"):
            self.assertTrue(_same_tree(os.path.join(b, sub), os.path.join(l1, sub)))
        for vid in os.listdir(os.path.join(b, "Charades_v1_rgb")):
            self.assertTrue(
                _same_tree(
                    os.path.join(b, "Charades_v1_rgb", vid),
                    os.path.join(l1, "Charades_v1_rgb", vid),
                )
            )
        self.assertNotIn("charades_long_videos", self.base.params)
        self.assertEqual(self.long1.stats["charades_long_videos"], 3)

    def test_deterministic_across_workers(self):
        self.assertTrue(_same_tree(self.long1.root, self.long2.root) or self._only_json_differs())

    def _only_json_differs(self):
        for name in ("Charades_v1_train.csv", "Charades_v1_test.csv", "Charades_v1_rgb"):
            a, b = os.path.join(self.long1.root, name), os.path.join(self.long2.root, name)
            same = _same_tree(a, b) if os.path.isdir(a) else filecmp.cmp(a, b, shallow=False)
            if not same:
                return False
        return True

    def test_long_videos_in_the_charades_files(self):
        base = {v["video_id"] for s in ("train", "test") for v in load_charades(self.base.root, s)}
        videos = [v for s in ("train", "test") for v in load_charades(self.long1.root, s)]
        long = [v for v in videos if v["video_id"] not in base]
        self.assertEqual(len(long), 3)
        for v in sorted(long, key=lambda v: v["video_id"]):
            # >= 3 shots of >= 4.5 s; every action inside the video, in time order
            self.assertGreaterEqual(v["length"], 3 * 4.5 - 0.01)
            starts = [s for _, s, _ in v["actions"]]
            self.assertEqual(starts, sorted(starts))
            self.assertTrue(all(0 <= s < e <= v["length"] + 0.01 for _, s, e in v["actions"]))
            n = video_io.count_frame_files(v["frame_dir"], v["video_id"])
            self.assertEqual(n, int(v["length"] * 24 + 1e-6))
            self.assertTrue(any(v["labels"]))

    def test_shots_and_timeline(self):
        lv = script_long_video(0, 1, "ABCDE", "train")
        self.assertTrue(MIN_SHOTS <= len(lv.shots) <= MAX_SHOTS)
        self.assertEqual(lv.offsets[0], 0.0)
        for k in range(1, len(lv.shots)):
            self.assertAlmostEqual(lv.offsets[k], lv.offsets[k - 1] + lv.shots[k - 1].length, 2)
        self.assertEqual(lv.shot_at(lv.offsets[1] + 0.5), (1, 0.5))
        self.assertEqual({v.scene for v in lv.shots}, {lv.shots[0].scene})
        # actions of later shots are shifted by the shot offset
        last = lv.shots[-1].actions[0]
        shifted = [a for a in lv.actions if a.cls == last.cls and a.objects == last.objects]
        self.assertIn(round(last.start + lv.offsets[-1], 2), [a.start for a in shifted])


if __name__ == "__main__":
    unittest.main()

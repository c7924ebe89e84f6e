"""The oracle bank: ground-truth matrices placed on the 24-fps timeline with each video's fps."""

import os
import shutil
import tempfile
import unittest

import numpy as np

from ag_detectron.data.datasets.action_genome import load_action_genome
from ag_detectron.feature_bank import FeatureBank, FeatureBankError, FeatureBankWriter, consolidate
from ag_detectron.feature_bank.oracle import oracle_entries, oracle_provenance, write_oracle_bank
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root

# non-24 native frame rates; 120 fps makes several AG frames share one 24-fps frame
FPS = {"001YG": 120.0, "0A8CF": 12.5, "Q8XEE": 29.97}


class TestOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="oracle_")
        root = write_ag_root(os.path.join(cls.dir, "ag"), *make_ag_annotations())
        cls.frames = load_action_genome(root, "all", use_cache=False)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_timeline_placement(self):
        videos, counts = oracle_entries(self.frames, FPS)
        # 0A8CF @ 12.5 fps: AG 12 -> t = 11/12.5 = 0.88 s -> 24-fps frame round(21.12) + 1 = 22;
        # AG 20 -> 1.52 s -> round(36.48) + 1 = 37
        np.testing.assert_array_equal(videos["0A8CF"].charades_frames, [22, 37])
        np.testing.assert_allclose(videos["0A8CF"].times, [21 / 24, 36 / 24])
        # Q8XEE @ 29.97: AG 111, 115, 118, 120 -> t = 110, 114, 117, 119 / 29.97 s
        # -> 24 t = 88.09, 91.29, 93.69, 95.30 -> frames 89, 92, 95, 96
        np.testing.assert_array_equal(videos["Q8XEE"].charades_frames, [89, 92, 95, 96])
        # 001YG @ 120 fps: AG 89, 91, 93 -> 24 t = 17.6, 18.0, 18.4 -> frame 19 (merged); 95 -> 20
        np.testing.assert_array_equal(videos["001YG"].charades_frames, [19, 20])
        self.assertEqual(counts["merged_frames"], 2)
        self.assertEqual(counts["frames"], 10)
        self.assertEqual(counts["entries"], 8)

    def test_matrix_content(self):
        videos, _ = oracle_entries(self.frames, FPS)
        e = videos["001YG"].entries
        self.assertEqual(e.shape, (2, 910))
        # chair (category 7 -> row 6): attention 1, spatial 4 and 6, contacting 19
        self.assertEqual(sorted(np.flatnonzero(e[0]).tolist()), [6 * 26 + j for j in (1, 4, 6, 19)])
        # frame 95 adds the book (category 4 -> row 3) with predicates 2 and 18
        self.assertEqual(
            sorted(np.flatnonzero(e[1]).tolist()),
            sorted([6 * 26 + j for j in (1, 4, 6, 19)] + [3 * 26 + 2, 3 * 26 + 18]),
        )
        self.assertEqual(set(np.unique(e)), {0.0, 1.0})
        # an annotated frame whose only object is invisible is an all-zero entry
        self.assertEqual(float(videos["0A8CF"].entries[1].sum()), 0.0)
        # a relation without a person box (Q8XEE frame 118, subject -1) still counts: sofa
        # (category 30 -> row 29) with attention 0, spatial 4 and 6, contacting 19 and 21
        self.assertEqual(
            np.flatnonzero(videos["Q8XEE"].entries[2]).tolist(),
            [29 * 26 + j for j in (0, 4, 6, 19, 21)],
        )

    def test_missing_fps_names_file_and_video(self):
        fps = dict(FPS)
        del fps["Q8XEE"]
        with self.assertRaisesRegex(FeatureBankError, r"^my_fps.json: no fps for video 'Q8XEE'"):
            oracle_entries(self.frames, fps, fps_file="my_fps.json")

    def test_write_bank(self):
        bank_dir = os.path.join(self.dir, "bank")
        writer = FeatureBankWriter(bank_dir, oracle_provenance())
        counts = write_oracle_bank(
            writer,
            self.frames,
            FPS,
            videos=["001YG", "0A8CF", "Q8XEE", "NOAG1"],
            durations={"NOAG1": 30.0, "0A8CF": 12.0, "Q8XEE": 1.0},
        )
        self.assertEqual(counts["durations_extended"], 1)  # Q8XEE's last frame is at 3.96 s
        self.assertEqual(counts["videos_without_frames"], 1)
        self.assertEqual(counts["written"], 4)
        consolidate(bank_dir)
        bank = FeatureBank(bank_dir, expected=oracle_provenance())
        self.assertEqual(bank.duration("0A8CF"), 12.0)
        self.assertEqual(bank.duration("NOAG1"), 30.0)
        self.assertEqual(bank.duration("Q8XEE"), 95 / 24)
        self.assertFalse(bank.window("NOAG1", 10.0).mask.any())
        win = bank.window("0A8CF", 1.0)
        np.testing.assert_allclose(win.times[win.mask], [21 / 24, 36 / 24])
        with self.assertRaisesRegex(FeatureBankError, "provenance field 'kind'"):
            FeatureBank(bank_dir, expected={"kind": "scene_graph"})


if __name__ == "__main__":
    unittest.main()

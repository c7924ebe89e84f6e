"""Bank storage: round trip, resume, merge of shards, provenance, NaN/Inf, truncation, missing."""

import logging
import os
import pickle
import shutil
import tempfile
import unittest

import numpy as np

from ag_detectron.feature_bank import (
    BankProvenance,
    FeatureBank,
    FeatureBankError,
    FeatureBankWriter,
    WindowSpec,
    consolidate,
    videos_for_rank,
    writer,
)

PROV = BankProvenance(
    kind="scene_graph",
    dim=6,
    rate=2.0,
    vocabulary={"objects": ["a", "b", "c"], "predicates": ["p", "q"]},
    producer_config_hash="cfg1",
    weights_hash="w1",
)


def _video(n: int, seed: int):
    """n entries at 2/s with distinct values: entry r of video `seed` = seed * 100 + r."""
    times = np.arange(n) / 2.0
    entries = (seed * 100 + np.arange(n))[:, None] + np.linspace(0, 0.5, 6)[None, :]
    return times, entries


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fbank_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)


class TestRoundTrip(TempDirCase):
    def test_write_consolidate_read(self):
        w = FeatureBankWriter(self.dir, PROV)
        data = {"V1": _video(30, 1), "V0": _video(3, 0), "V2": (np.zeros(0), np.zeros((0, 6)))}
        for vid, (t, e) in data.items():
            self.assertTrue(w.write(vid, t, e))
        consolidate(self.dir)
        bank = FeatureBank(self.dir, expected=PROV)
        self.assertEqual(bank.videos, ["V0", "V1", "V2"])  # sorted
        self.assertEqual(bank.num_entries, 33)
        self.assertIsInstance(bank._entries, np.memmap)  # mapped, not loaded
        for vid, (t, e) in data.items():
            np.testing.assert_array_equal(bank.times(vid), t)
            np.testing.assert_array_equal(bank.entries(vid), e.astype(np.float16))
            self.assertEqual(bank.entries(vid).dtype, np.float16)
        self.assertEqual(bank.duration("V1"), 15.0)  # last time + 1 / rate
        self.assertEqual(bank.duration("V2"), 0.0)
        win = bank.window("V1", 7.0)
        self.assertEqual(win.entries.shape, (20, 6))
        self.assertTrue(win.mask.all())
        np.testing.assert_array_equal(win.times, np.arange(4, 24) / 2.0)  # [2, 12) s
        np.testing.assert_allclose(win.entries[:, 0], 100 + np.arange(4, 24))
        # pickling drops the maps and re-opens them
        clone = pickle.loads(pickle.dumps(bank))
        self.assertLess(len(pickle.dumps(bank)), 4000)
        np.testing.assert_array_equal(clone.window("V1", 7.0).entries, win.entries)

    def test_batch_windows_and_padding(self):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(30, 1))
        w.write("B", *_video(4, 2))
        consolidate(self.dir)
        bank = FeatureBank(self.dir)
        win = bank.windows(["A", "B"], [7.0, 1.0])
        self.assertEqual(win.entries.shape, (2, 20, 6))
        self.assertEqual(win.mask.sum(axis=1).tolist(), [20, 4])
        self.assertTrue((win.entries[1, 4:] == 0).all())
        self.assertTrue(np.isnan(win.times[1, 4:]).all())

    def test_slot_padding_and_overflow_through_the_bank(self):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(30, 1))
        dense_t = np.round(np.arange(0, 10, 0.1), 1)
        w.write("D", dense_t, np.arange(100)[:, None] * np.ones((1, 6)))
        consolidate(self.dir)
        bank = FeatureBank(self.dir)
        win = bank.windows(["A", "D"], [1.0, 5.0], WindowSpec(padding="slot"))
        # A: entries 0.0 .. 5.5 s in slots 8 .. 19 of the window [-4, 6)
        np.testing.assert_array_equal(np.flatnonzero(win.mask[0]), np.arange(8, 20))
        np.testing.assert_allclose(win.entries[0, 8:, 0], 100 + np.arange(12))
        # D: 100 entries at 10/s; one per 0.5 s slot survives (the earliest), 80 dropped
        np.testing.assert_allclose(win.times[1], np.arange(20) / 2.0)
        np.testing.assert_allclose(win.entries[1, :, 0], np.arange(0, 100, 5))
        self.assertEqual(bank.stats["dropped_entries"], 80)
        near = bank.window("D", 5.0, WindowSpec(size=4))
        np.testing.assert_allclose(near.times, [4.8, 4.9, 5.0, 5.1])
        np.testing.assert_allclose(near.entries[:, 0], [48, 49, 50, 51])
        self.assertEqual(bank.stats["dropped_entries"], 80 + 96)

    def test_reconsolidate_replaces_generation(self):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(3, 1))
        consolidate(self.dir)
        first = sorted(f for f in os.listdir(self.dir) if f.endswith(".npy"))
        w.write("B", *_video(3, 2))
        consolidate(self.dir)
        second = sorted(f for f in os.listdir(self.dir) if f.endswith(".npy"))
        self.assertEqual(len(second), 2)
        self.assertFalse(set(first) & set(second))
        self.assertEqual(FeatureBank(self.dir).videos, ["A", "B"])


class TestResumeAndMerge(TempDirCase):
    def test_resume_after_interruption(self):
        videos = {f"V{i}": _video(5 + i, i) for i in range(4)}
        w = FeatureBankWriter(self.dir, PROV)
        for vid in ["V0", "V1"]:
            w.write(vid, *videos[vid])
        # the run dies while writing V2: savez raises half-way, no shard and no temp file remain
        real = np.savez

        def dying(f, **arrays):
            f.write(b"PK\x03\x04partial")
            raise KeyboardInterrupt

        writer.np.savez = dying
        try:
            with self.assertRaises(KeyboardInterrupt):
                w.write("V2", *videos["V2"])
        finally:
            writer.np.savez = real
        self.assertEqual(sorted(os.listdir(w.shard_dir)), ["V0.npz", "V1.npz"])
        # a second run skips the finished videos and writes the rest
        w2 = FeatureBankWriter(self.dir, PROV)
        todo = [v for v in videos if not w2.done(v)]
        self.assertEqual(todo, ["V2", "V3"])
        for vid, (t, e) in videos.items():
            w2.write(vid, t, e)
        self.assertEqual(w2.stats["written"], 2)
        self.assertEqual(w2.stats["skipped_existing"], 2)
        consolidate(self.dir, videos=list(videos))
        bank = FeatureBank(self.dir)
        for vid, (_, e) in videos.items():
            np.testing.assert_array_equal(bank.entries(vid), e.astype(np.float16))

    def test_shards_from_several_ranks_merge(self):
        videos = [f"V{i:02d}" for i in range(7)]
        parts = [videos_for_rank(reversed(videos), r, 3) for r in range(3)]
        self.assertEqual(sorted(sum(parts, [])), videos)  # a partition
        self.assertEqual(parts[0], ["V00", "V03", "V06"])
        for r, part in enumerate(parts):  # one bank dir per "machine"
            w = FeatureBankWriter(os.path.join(self.dir, f"m{r}"), PROV)
            for vid in part:
                w.write(vid, *_video(3, int(vid[1:])))
        merged = os.path.join(self.dir, "merged")
        FeatureBankWriter(merged, PROV)
        for r in range(3):
            src = os.path.join(self.dir, f"m{r}", "shards")
            for name in os.listdir(src):
                shutil.copy(os.path.join(src, name), os.path.join(merged, "shards", name))
        consolidate(merged, videos=videos)
        bank = FeatureBank(merged)
        self.assertEqual(bank.videos, videos)
        self.assertEqual(float(bank.entries("V05")[2, 0]), 502.0)
        with self.assertRaises(FeatureBankError):
            videos_for_rank(videos, 3, 3)

    def test_consolidate_requires_every_video(self):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(3, 1))
        with self.assertRaisesRegex(FeatureBankError, r"shards: no shard for 1 of 2 videos.*'B'"):
            consolidate(self.dir, videos=["A", "B"])
        w.write("C", *_video(3, 3))
        with self.assertLogs("ag_detectron.feature_bank.writer", logging.WARNING) as logs:
            consolidate(self.dir, videos=["A"])  # C's shard is left out, with a warning
        self.assertIn("1 shards belong to videos outside the requested list", logs.output[0])
        self.assertEqual(FeatureBank(self.dir).videos, ["A"])


class TestBadInput(TempDirCase):
    def _bank(self, **kw):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(10, 1))
        consolidate(self.dir)
        return FeatureBank(self.dir, **kw)

    def test_provenance_mismatch_on_open(self):
        self._bank()
        index = os.path.join(self.dir, "index.json")
        other = dict(
            PROV.to_dict(), vocabulary={"objects": ["a", "X", "c"], "predicates": ["p", "q"]}
        )
        with self.assertRaisesRegex(
            FeatureBankError,
            rf"{index}: provenance field 'vocabulary'\['objects'\]\[1\]: \"b\", "
            r"expected \"X\"",
        ):
            FeatureBank(self.dir, expected=other)
        with self.assertRaisesRegex(
            FeatureBankError, 'field \'weights_hash\': "w1", expected "w2"'
        ):
            FeatureBank(self.dir, expected={"weights_hash": "w2"})
        with self.assertRaisesRegex(FeatureBankError, "field 'kind'"):
            FeatureBank(self.dir, expected={"kind": "lfb"})
        FeatureBank(self.dir, expected={"kind": "scene_graph", "dim": 6})  # subset: fine

    def test_provenance_mismatch_on_resume(self):
        FeatureBankWriter(self.dir, PROV)
        other = BankProvenance(**dict(PROV.to_dict(), producer_config_hash="cfg2"))
        with self.assertRaisesRegex(
            FeatureBankError, "provenance.json: provenance field 'producer_config_hash'"
        ):
            FeatureBankWriter(self.dir, other)

    def test_nonfinite_refused_or_counted(self):
        w = FeatureBankWriter(self.dir, PROV)
        t, e = _video(4, 1)
        e[2, 3] = np.nan
        with self.assertRaisesRegex(
            FeatureBankError,
            r"video A: 1 NaN/Inf values in 1 entries "
            r"\(first at t = 1.000 s, row 2\)",
        ):
            w.write("A", t, e)
        self.assertFalse(w.done("A"))
        e[2, 3] = 1e6  # finite in float64, +inf in float16
        with self.assertRaisesRegex(FeatureBankError, "NaN/Inf"):
            w.write("A", t, e)
        wz = FeatureBankWriter(os.path.join(self.dir, "z"), PROV, nonfinite="zero")
        e[0, 0] = -np.inf
        wz.write("A", t, e)
        self.assertEqual(wz.stats["nonfinite_values"], 2)
        self.assertEqual(wz.stats["nonfinite_videos"], 1)
        consolidate(wz.bank_dir)
        stored = FeatureBank(wz.bank_dir).entries("A")
        self.assertEqual(float(stored[2, 3]), 0.0)
        self.assertTrue(np.isfinite(stored).all())

    def test_bad_shapes_and_times(self):
        w = FeatureBankWriter(self.dir, PROV)
        with self.assertRaisesRegex(FeatureBankError, r"shape \(3, 5\); expected \(3, 6\)"):
            w.write("A", [0, 1, 2], np.zeros((3, 5)))
        with self.assertRaisesRegex(FeatureBankError, "not sorted"):
            w.write("A", [0, 2, 1], np.zeros((3, 6)))
        with self.assertRaisesRegex(FeatureBankError, "cannot name a shard file"):
            w.write("../x", [0], np.zeros((1, 6)))

    def test_truncated_bank_file(self):
        self._bank()
        name = next(f for f in os.listdir(self.dir) if f.startswith("entries-"))
        path = os.path.join(self.dir, name)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 10)
        with self.assertRaisesRegex(
            FeatureBankError, rf"{path}: \d+ bytes, expected \d+ .*truncated"
        ):
            FeatureBank(self.dir)

    def test_truncated_shard(self):
        w = FeatureBankWriter(self.dir, PROV)
        w.write("A", *_video(10, 1))
        path = w.shard_path("A")
        with open(path, "r+b") as f:
            f.truncate(100)
        with self.assertRaisesRegex(FeatureBankError, rf"{path}: unreadable shard"):
            consolidate(self.dir)

    def test_missing_video_error_names_bank_and_video(self):
        bank = self._bank()
        with self.assertRaisesRegex(
            FeatureBankError, r"index.json: video 'ZZZ' is not in this bank"
        ):
            bank.window("ZZZ", 1.0)

    def test_missing_video_zero_is_counted(self):
        bank = self._bank(missing="zero")
        with self.assertLogs("ag_detectron.feature_bank.storage", logging.WARNING) as logs:
            win = bank.window("ZZZ", 1.0)
            bank.window("YYY", 1.0)
        self.assertEqual(len(logs.records), 1)  # one warning, then counting
        self.assertEqual(bank.stats["missing_video_reads"], 2)
        self.assertFalse(win.mask.any())
        self.assertTrue((win.entries == 0).all())

    def test_centre_outside_video(self):
        bank = self._bank()
        with self.assertRaisesRegex(
            FeatureBankError,
            r"video A: clip centre 9.000 s is outside "
            r"the video \[0, 5.000\] s",
        ):
            bank.window("A", 9.0)
        win = bank.window("A", 9.0, WindowSpec(outside="clamp"))
        self.assertEqual(bank.stats["clamped_centres"], 1)
        np.testing.assert_array_equal(win.times[win.mask], np.arange(0, 10) / 2.0)


if __name__ == "__main__":
    unittest.main()

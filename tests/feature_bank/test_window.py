"""Window selection rules on hand-made timestamps."""

import unittest

import numpy as np

from ag_detectron.feature_bank import FeatureBankError, WindowSpec, select_window

GRID = np.arange(60) / 2.0  # 30 s at 2 entries/s


class TestSelectWindow(unittest.TestCase):
    def test_lfb_default_is_half_open_twenty(self):
        sel = select_window(GRID, 10.0, WindowSpec(), duration=30.0)
        # [5, 15) -> 5.0, 5.5, ..., 14.5: exactly 20 entries, 15.0 excluded
        self.assertEqual((sel.start, sel.stop), (10, 30))
        np.testing.assert_array_equal(sel.rows, np.arange(20))
        self.assertEqual((sel.dropped, sel.clamped), (0, False))

    def test_near_the_start_end_padding_and_slot_padding(self):
        sel = select_window(GRID, 1.0, WindowSpec(), duration=30.0)
        self.assertEqual((sel.start, sel.stop), (0, 12))  # [-4, 6) -> 0.0 .. 5.5
        np.testing.assert_array_equal(sel.rows, np.arange(12))
        sel = select_window(GRID, 1.0, WindowSpec(padding="slot"), duration=30.0)
        # slot width 0.5 s from -4 s: 0.0 s -> slot 8, 5.5 s -> slot 19
        np.testing.assert_array_equal(sel.rows, np.arange(8, 20))

    def test_slot_collision_keeps_the_earlier_entry(self):
        times = np.array([0.0, 0.1, 0.6, 2.0])
        sel = select_window(times, 1.0, WindowSpec(size=4, span=2.0, padding="slot"), 3.0)
        # window [0, 2), slot width 0.5: 0.0 -> 0, 0.1 -> 0 (dropped), 0.6 -> 1; 2.0 excluded
        np.testing.assert_array_equal(sel.rows, [0, -1, 1])
        self.assertEqual((sel.start, sel.stop, sel.dropped), (0, 3, 1))
        spec = WindowSpec(size=4, span=2.0, padding="slot", overflow="error")
        with self.assertRaisesRegex(FeatureBankError, "1 entries share a 0.5 s slot"):
            select_window(times, 1.0, spec, 3.0)

    def test_overflow_keeps_nearest(self):
        times = np.round(np.arange(0, 10, 0.1), 1)
        sel = select_window(times, 5.0, WindowSpec(size=4, span=10.0), duration=10.0)
        # nearest 4 to 5.0: 4.9, 5.0, 5.1 and (tie 4.8 / 5.2) the earlier 4.8
        np.testing.assert_array_equal(times[sel.start : sel.stop], [4.8, 4.9, 5.0, 5.1])
        self.assertEqual(sel.dropped, 100 - 4)
        with self.assertRaisesRegex(FeatureBankError, r"100 entries within \+-5 s of 5.000 s"):
            select_window(times, 5.0, WindowSpec(size=4, overflow="error"), 10.0, where="b: v")

    def test_outside(self):
        with self.assertRaisesRegex(
            FeatureBankError,
            r"^bank: video X: clip centre -1.000 s is "
            r"outside the video \[0, 30.000\] s",
        ):
            select_window(GRID, -1.0, WindowSpec(), 30.0, where="bank: video X")
        sel = select_window(GRID, 31.0, WindowSpec(outside="clamp"), 30.0)
        self.assertTrue(sel.clamped)
        self.assertEqual(sel.centre, 30.0)
        self.assertEqual((sel.start, sel.stop), (50, 60))
        with self.assertRaises(FeatureBankError):
            select_window(GRID, float("nan"), WindowSpec(outside="clamp"), 30.0)

    def test_empty_video(self):
        sel = select_window(np.zeros(0), 0.0, WindowSpec(), 0.0)
        self.assertEqual((sel.start, sel.stop, len(sel.rows)), (0, 0, 0))

    def test_spec_validation(self):
        for bad in ({"size": 0}, {"span": -1.0}, {"padding": "front"}, {"outside": "wrap"}):
            with self.assertRaises(FeatureBankError):
                WindowSpec(**bad)


if __name__ == "__main__":
    unittest.main()

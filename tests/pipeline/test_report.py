"""The results report: metrics read as fractions, tables and target lines (hand-checked)."""

import json
import os
import tempfile
import unittest

from ag_detectron.pipeline.report import (
    Target,
    detection_table,
    metric,
    scene_graph_table,
    target_lines,
    write_results,
)

RESULTS = {
    "reldn_predcls": {"results": {"sgg": {"predcls/with/R@20": 0.8994, "predcls/no/R@50": 1.0}}},
    "freq_predcls": {"results": {"sgg": {"predcls/with/R@20": 0.521}}},
    "detector": {"results": {"bbox": {"AP": 35.1, "AP50": 54.2, "AP75": 37.06}}},
    # a scene-graph model's output may carry both tasks
    "reldn_sgdet": {"results": {"bbox": {"AP": 10.0}, "sgg": {"sgdet/with/R@20": 0.6941}}},
}


class TestReport(unittest.TestCase):
    def test_metric(self):
        self.assertAlmostEqual(metric(RESULTS, "detector", "AP50"), 0.542)
        self.assertEqual(metric(RESULTS, "reldn_predcls", "predcls/with/R@20"), 0.8994)
        self.assertEqual(metric(RESULTS, "reldn_sgdet", "sgdet/with/R@20"), 0.6941)
        self.assertIsNone(metric(RESULTS, "detector", "APs"))
        self.assertIsNone(metric(RESULTS, "missing", "AP"))

    def test_scene_graph_table(self):
        text = scene_graph_table(
            RESULTS,
            ("predcls",),
            (("freq", "Freq"), ("reldn", "RelDN")),
            (("with", "R@20"), ("no", "R@50")),
        )
        self.assertEqual(
            text.splitlines(),
            [
                "| model   | mode    |   with R@20 | no R@50   |",
                "|:--------|:--------|------------:|:----------|",
                "| Freq    | predcls |       0.521 | -         |",
                "| RelDN   | predcls |       0.899 | 1.000     |",
            ],
        )

    def test_detection_table_skips_empty_rows(self):
        text = detection_table(RESULTS, (("detector", "det"), ("detector_all_drawn", "all")))
        self.assertEqual(
            text.splitlines(),
            [
                "| detector / ground truth   |    AP |   AP50 |   AP75 |",
                "|:--------------------------|------:|-------:|-------:|",
                "| det                       | 0.351 |  0.542 |  0.371 |",
            ],
        )

    def test_target_lines(self):
        lines = target_lines(
            RESULTS,
            [
                Target("PredCls", "reldn_predcls", "predcls/with/R@20", 0.90),
                Target("AP50", "detector", "AP50", 0.50),
                Target("absent", "reldn_sgcls", "sgcls/with/R@20", 0.1),
            ],
        )
        self.assertEqual(
            lines,
            [
                "- PredCls: 0.899 (target >= 0.90) MISS",
                "- AP50: 0.542 (target >= 0.50) PASS",
                "- absent: - (target >= 0.10) MISS",
            ],
        )

    def test_write_results(self):
        with tempfile.TemporaryDirectory() as tmp:
            md, js = write_results(tmp, "| a |", {"results": RESULTS})
            with open(md) as f:
                self.assertEqual(f.read(), "| a |\n")
            with open(js) as f:
                self.assertEqual(json.load(f), {"results": RESULTS})
            self.assertEqual(
                {os.path.basename(md), os.path.basename(js)}, {"results.md", "results.json"}
            )


if __name__ == "__main__":
    unittest.main()

"""tools/demo.py end to end at a tiny size: every stage runs, the table is complete, stages are
reused, and a changed config reruns exactly the stages it feeds (``--force``: the stage-cache tests
in tests/pipeline/test_stage_cache.py)."""

import json
import os
import tempfile
import unittest

from ag_detectron.engine.testing import load_tool


class TestDemo(unittest.TestCase):
    def test_tiny_demo_and_reuse(self):
        demo = load_tool("demo")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            # --num-procs 1: spawned workers cannot re-import a module loaded from a file path; the
            # multi-process Trainer path is covered by test_multiprocess.py.
            argv = [
                "--output",
                out,
                "--data",
                os.path.join(tmp, "ag_synth"),
                "--videos",
                "3",
                "--det-iters",
                "2",
                "--rel-iters",
                "2",
                "--num-vis",
                "1",
                "--num-procs",
                "1",
                "--eval-procs",
                "2",
                "--long-videos",
                "0",
                "--no-actions",  # the action half: test_tiny_action_half
            ]
            summary = demo.main(argv)
            results = summary["results"]
            expected = {"detector", "detector_all_drawn", "detector_ceiling"} | {
                f"{m}_{mode}" for m in ("reldn", "freq") for mode in demo.MODES
            }
            self.assertEqual(set(results), expected)
            for name in ("detector", "detector_all_drawn", "detector_ceiling"):
                self.assertIn("AP50", results[name]["results"]["bbox"])
            ceiling = results["detector_ceiling"]["results"]["bbox"]["AP50"]
            self.assertTrue(0.0 < ceiling <= 100.0, ceiling)
            for mode in demo.MODES:
                sgg = results[f"reldn_{mode}"]["results"]["sgg"]
                for key in ("with/R@20", "no/R@50", "ag_paper_image/R@20", "with/mR@20_pooled"):
                    self.assertIn(f"{mode}/{key}", sgg)
            with open(os.path.join(out, "results.md")) as f:
                table = f.read()
            self.assertIn("Freq prior", table)
            self.assertIn("Targets:", table)
            self.assertEqual(len(summary["visualizations"]), 1)
            self.assertTrue(os.path.isfile(summary["visualizations"][0]))
            det = os.path.join(out, "detector", "model_final.pth")
            rel = os.path.join(out, "reldn", "model_final.pth")
            stamps = (os.path.getmtime(det), os.path.getmtime(rel))
            with open(os.path.join(out, "stages.json")) as f:
                stages = json.load(f)
            # Second run: every stage is reused (no retraining, cached evaluations).
            again = demo.main(argv)
            self.assertEqual((os.path.getmtime(det), os.path.getmtime(rel)), stamps)
            with open(os.path.join(out, "stages.json")) as f:
                self.assertEqual(json.load(f), stages)
            self.assertEqual(again["results"], json.loads(json.dumps(results)))
            # A changed RelDN schedule retrains the head (and re-evaluates it), not the detector.
            changed = [
                a if a != "2" or argv[i - 1] != "--rel-iters" else "3" for i, a in enumerate(argv)
            ]
            demo.main(changed)
            self.assertEqual(os.path.getmtime(det), stamps[0])
            self.assertNotEqual(os.path.getmtime(rel), stamps[1])
            with open(os.path.join(out, "stages.json")) as f:
                after = json.load(f)
            self.assertEqual(after["detector"], stages["detector"])
            self.assertNotEqual(after["reldn"], stages["reldn"])
            self.assertNotEqual(after["eval_reldn_predcls"], stages["eval_reldn_predcls"])
            self.assertEqual(after["eval_freq_predcls"], stages["eval_freq_predcls"])

    def test_tiny_action_half(self):
        """Both halves at a tiny size: the 3D CNN (trained in the background process while RelDN
        trains), the three banks, every head, the report with its orderings; a rerun reuses
        everything. The few-shot table is covered by tests/feature_bank/test_few_shot_run.py."""
        demo = load_tool("demo")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            argv = ["--output", out, "--data", os.path.join(tmp, "ag_synth")]
            argv += ["--videos", "6", "--long-videos", "2", "--det-iters", "2"]
            argv += ["--rel-iters", "2", "--num-vis", "0", "--num-procs", "1"]
            argv += ["--eval-procs", "1", "--clip-iters", "2", "--head-iters", "2"]
            argv += ["--head-seeds", "0", "1", "--few-shot-seeds"]
            summary = demo.main(argv)
            actions = summary["actions"]
            self.assertEqual(set(actions["heads"]), {"LFB", "SGFB", "SGFB Oracle"})
            for per_fbo in actions["heads"].values():
                self.assertEqual(set(per_fbo), {"avg", "max", "nl"})
                for runs in per_fbo.values():
                    self.assertEqual(set(runs), {"0", "1"})
                    for r in runs.values():
                        self.assertTrue(0.0 <= r["mAP"] <= 1.0)
            self.assertTrue(0.0 <= actions["clip"]["mAP"] <= 1.0)
            self.assertEqual(len(actions["orderings"]), 4)
            with open(os.path.join(out, "results.md")) as f:
                text = f.read()
            self.assertIn("| 3D CNN alone |", text)
            self.assertIn("SGFB Oracle >= SGFB", text)
            for kind in ("lfb", "scene_graph", "oracle"):
                index = os.path.join(out, "actions", "banks", kind, "index.json")
                self.assertTrue(os.path.isfile(index), kind)
            clip = os.path.join(out, "actions", "clip", "model_final.pth")
            stamp = os.path.getmtime(clip)
            with open(os.path.join(out, "actions", "stages.json")) as f:
                stages = json.load(f)
            self.assertIn("actions/clip", stages)  # recorded by the background process
            again = demo.main(argv)
            self.assertEqual(os.path.getmtime(clip), stamp)
            with open(os.path.join(out, "actions", "stages.json")) as f:
                self.assertEqual(json.load(f), stages)
            self.assertEqual(again["actions"]["heads"], json.loads(json.dumps(actions["heads"])))


if __name__ == "__main__":
    unittest.main()

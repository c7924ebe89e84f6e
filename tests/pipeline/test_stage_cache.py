"""The stage cache and the stage runner: a stage is skipped while its key and outputs are unchanged,
reruns when the key (e.g. its config) changes or an output is missing, and ``force`` reruns it."""

import functools
import json
import logging
import os
import tempfile
import unittest

from ag_detectron.engine.testing import load_tool
from ag_detectron.pipeline import Stage, StageCache, digest, run_stages


def load_config(config, overrides):
    """The demo's config loader (``get_ag_cfg`` of a repository-relative path plus overrides)."""
    return load_tool("demo").load_cfg(config, overrides)


class TestDigest(unittest.TestCase):
    def test_parts_and_files(self):
        self.assertEqual(digest("a", {"x": 1, "y": 2}), digest("a", {"y": 2, "x": 1}))
        self.assertNotEqual(digest("a", 1), digest("a", 2))
        self.assertEqual(len(digest("a")), 16)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "f")
            with open(path, "w") as f:
                f.write("one")
            before = digest(("file", path))
            with open(path, "w") as f:
                f.write("two")
            self.assertNotEqual(digest(("file", path)), before)


class TestStageCache(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.stages = os.path.join(self.tmp.name, "stages.json")
        self.output = os.path.join(self.tmp.name, "out.txt")
        self.calls = 0

    def tearDown(self):
        self.tmp.cleanup()

    def _produce(self):
        self.calls += 1
        with open(self.output, "w") as f:
            f.write(str(self.calls))

    def _run(self, key, force=False):
        return StageCache(self.stages, force).run("train", key, [self.output], self._produce)

    def test_skipped_when_unchanged(self):
        self.assertTrue(self._run("k1"))
        self.assertFalse(self._run("k1"))  # a new cache object reads stages.json
        self.assertEqual(self.calls, 1)
        with open(self.stages) as f:
            self.assertEqual(json.load(f), {"train": "k1"})

    def test_rerun_when_config_changes(self):
        overrides = {"SOLVER.MAX_ITER": 5, "OUTPUT_DIR": self.tmp.name}
        config = "configs/Synthetic/faster_rcnn_R_50n_FPN_adamw_synth.yaml"
        key = digest("detector", load_config(config, overrides).dump())
        self.assertTrue(self._run(key))
        self.assertFalse(self._run(digest("detector", load_config(config, overrides).dump())))
        changed = digest(
            "detector", load_config(config, {**overrides, "SOLVER.MAX_ITER": 6}).dump()
        )
        self.assertNotEqual(changed, key)
        self.assertTrue(self._run(changed))
        self.assertEqual(self.calls, 2)
        with open(self.output) as f:
            self.assertEqual(f.read(), "2")

    def test_rerun_when_output_missing(self):
        self._run("k1")
        os.remove(self.output)
        self.assertTrue(self._run("k1"))
        self.assertEqual(self.calls, 2)

    def test_force_reruns_each_stage_once(self):
        self._run("k1")
        forced = StageCache(self.stages, force=True)
        self.assertTrue(forced.run("train", "k1", [self.output], self._produce))
        # within the forced run the new record counts: a second use of the stage is reused
        self.assertFalse(forced.run("train", "k1", [self.output], self._produce))
        self.assertEqual(self.calls, 2)
        self.assertFalse(self._run("k1"))

    def test_failed_stage_is_not_recorded(self):
        def fail():
            raise RuntimeError("boom")

        with self.assertRaises(RuntimeError):
            StageCache(self.stages).run("train", "k1", [self.output], fail)
        self.assertFalse(os.path.exists(self.stages))
        self.assertTrue(self._run("k1"))


class TestRunStages(unittest.TestCase):
    def test_order_state_and_disabled(self):
        seen = []
        stages = [
            Stage("a", "first", lambda s: seen.append("a") or 1),
            Stage("b", "second", lambda s: seen.append("b") or s["a"] + 1),
            Stage("c", "third", lambda s: seen.append("c"), enabled=False),
        ]
        state = {}
        logger = logging.getLogger("ag_detectron.test_run_stages")
        with self.assertLogs(logger, "INFO") as logs:
            timings = run_stages(stages, state, logger)
        self.assertEqual(seen, ["a", "b"])
        self.assertEqual(state, {"a": 1, "b": 2, "c": None})
        self.assertEqual(set(timings), {"a", "b", "c", "total"})
        self.assertEqual(
            [r.getMessage() for r in logs.records], ["[1/3] first", "[2/3] second", "[3/3] third"]
        )


class TestDemoKeys(unittest.TestCase):
    def test_detector_key_ignores_relation_head_options(self):
        demo = load_tool("demo")
        config = demo.CONFIGS["detector"]
        dump = functools.partial(demo._cfg_dump_without, namespaces=demo._NON_DETECTOR_NAMESPACES)
        base = load_config(config, {"OUTPUT_DIR": "/tmp/x"})
        other = load_config(
            config, {"OUTPUT_DIR": "/tmp/x", "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": "other.json"}
        )
        self.assertEqual(dump(base), dump(other))
        lr = load_config(config, {"OUTPUT_DIR": "/tmp/x", "SOLVER.BASE_LR": 0.123})
        self.assertNotEqual(dump(base), dump(lr))

    def test_scene_graph_keys_ignore_action_model_options(self):
        """A new or changed option of the action half never retrains the scene-graph stages."""
        demo = load_tool("demo")
        config = demo.CONFIGS["reldn"].format(mode="predcls")
        base = load_config(config, {"OUTPUT_DIR": "/tmp/x"})
        for key, value in (
            ("MODEL.SGFB.CLIP_FEATURE_BANK", "bank"),
            ("MODEL.VIDEO.STEM_WIDTH", 8),
            ("INPUT.CLIP.NUM_FRAMES", 4),
            ("TEST.CHARADES.SAVE_PLOT", False),
        ):
            other = load_config(config, {"OUTPUT_DIR": "/tmp/x", key: value})
            self.assertEqual(demo._cfg_dump_without(base), demo._cfg_dump_without(other), key)
        lr = load_config(config, {"OUTPUT_DIR": "/tmp/x", "SOLVER.BASE_LR": 0.123})
        self.assertNotEqual(demo._cfg_dump_without(base), demo._cfg_dump_without(lr))


if __name__ == "__main__":
    unittest.main()

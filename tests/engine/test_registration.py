"""``import ag_detectron`` registers every builtin dataset without reading a file (README's snippet,
run as written in a fresh process), and a YAML setting a removed key fails loudly."""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

from ag_detectron.config import get_ag_cfg
from ag_detectron.data.datasets.builtin import BUILTIN_AG_SPLITS, BUILTIN_CHARADES_SPLITS
from ag_detectron.engine.testing import CONFIG_DIR
from ag_detectron.errors import ConfigError
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root

REPO = os.path.dirname(CONFIG_DIR)


def readme_snippet() -> str:
    """The Python block of README.md that starts with ``import ag_detectron``."""
    with open(os.path.join(REPO, "README.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    found = [b for b in blocks if b.startswith("import ag_detectron")]
    assert len(found) == 1, (
        f"expected one README snippet starting with 'import ag_detectron', got {found}"
    )
    return found[0]


class TestImportRegisters(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        self.env = dict(
            os.environ, AG_DATASETS=self.root, AG_CACHE=os.path.join(self.root, "cache")
        )
        self.env["PYTHONPATH"] = os.pathsep.join([REPO, self.env.get("PYTHONPATH", "")])

    def tearDown(self):
        self._tmp.cleanup()

    def _python(self, code: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        return proc.stdout

    def test_readme_snippet_in_a_fresh_process(self):
        persons, objects = make_ag_annotations()
        write_ag_root(os.path.join(self.root, "action_genome"), persons, objects)
        out = self._python(
            readme_snippet()
            + textwrap.dedent(
                """
                print("frames", len(frames), frames[0]["file_name"].startswith(%r))
                print("predicates", len(meta.predicate_classes), meta.evaluator_type)
                print("subset", MetadataCatalog.get("my_ag_subset").filter_preset)
                """
                % os.path.join(self.root, "action_genome")
            )
        )
        # The fixture keeps 4 training frames under the STTran filters (hand-checked in tests/data).
        self.assertIn("frames 4 True", out)
        self.assertIn("predicates 26 ag_relation", out)
        self.assertIn("subset sttran", out)

    def test_import_registers_everything_and_reads_nothing(self):
        # An audit hook records every file opened under $AG_DATASETS during the import.
        code = textwrap.dedent(
            f"""
            import sys
            opened = []
            root = {self.root!r}
            def hook(event, args):
                if event == "open" and isinstance(args[0], str) and args[0].startswith(root):
                    opened.append(args[0])
            sys.addaudithook(hook)
            import ag_detectron
            from detectron2.data import DatasetCatalog
            print("opened", opened)
            print("names", sorted(n for n in DatasetCatalog.list()))
            """
        )
        out = self._python(code)
        self.assertIn("opened []", out)
        names = out.split("names", 1)[1]
        for name in list(BUILTIN_AG_SPLITS) + list(BUILTIN_CHARADES_SPLITS):
            self.assertIn(repr(name), names)


class TestConfigKeys(unittest.TestCase):
    def test_removed_dataset_namespace_fails_loudly(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(f'_BASE_: "{os.path.join(CONFIG_DIR, "Base-Synth-RCNN-FPN.yaml")}"\n')
            f.write("DATASETS:\n  AG:\n    FILTER_PRESET: sttran\n")
        try:
            with self.assertRaisesRegex(
                ConfigError, f"{f.name}: Non-existent config key: DATASETS.AG"
            ):
                get_ag_cfg(f.name)
        finally:
            os.unlink(f.name)
        with self.assertRaisesRegex(
            ConfigError, "override: Non-existent key: DATASETS.AG.NUM_PREDICATES"
        ):
            get_ag_cfg(None, ["DATASETS.AG.NUM_PREDICATES", "25"])

    def test_get_ag_cfg_follows_base_and_overrides(self):
        path = os.path.join(CONFIG_DIR, "quick_schedules", "faster_rcnn_synth_instant_test.yaml")
        cfg = get_ag_cfg(path, ["SOLVER.MAX_ITER", "7"])
        self.assertTrue(cfg.is_frozen())
        self.assertEqual(cfg.SOLVER.MAX_ITER, 7)
        self.assertEqual(cfg.INPUT.MIN_SIZE_TEST, 96)  # from the file
        self.assertEqual(cfg.DATALOADER.ASPECT_RATIO_GROUPING, False)  # from its _BASE_
        self.assertEqual(cfg.SOLVER.OPTIMIZER, get_ag_cfg().SOLVER.OPTIMIZER)  # an ag_detectron key
        self.assertFalse(get_ag_cfg(path, freeze=False).is_frozen())


if __name__ == "__main__":
    unittest.main()

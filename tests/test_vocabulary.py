"""The one vocabulary definition: class files byte for byte, groups, the two predicate id spaces,
readable names, the mode parser, and the import layering (modeling / evaluation / vocabulary
import nothing from ag_detectron.data)."""

import ast
import os
import subprocess
import sys
import tempfile
import unittest

from ag_detectron import vocabulary as V
from ag_detectron.data.datasets import ag_categories as C
from ag_detectron.errors import ConfigError
from ag_detectron.modes import RelationMode

PACKAGE_DIR = os.path.join(os.path.dirname(__file__), "..", "ag_detectron")

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "ag")


class TestPackagedVocabulary(unittest.TestCase):
    def test_counts_and_groups(self):
        self.assertEqual(len(C.OBJECT_CLASSES), 36)
        self.assertEqual(C.OBJECT_CLASSES[C.PERSON_CATEGORY_ID], "person")
        self.assertEqual(len(C.PREDICATE_CLASSES), 26)
        self.assertEqual([g.size for g in C.PREDICATE_GROUPS], [3, 6, 17])
        # groups tile [0, 26) without gaps
        self.assertEqual(C.ATTENTION.stop, C.SPATIAL.start)
        self.assertEqual(C.SPATIAL.stop, C.CONTACTING.start)
        self.assertEqual(C.CONTACTING.stop, 26)
        self.assertEqual(C.PREDICATE_CLASSES[C.OTHER_RELATIONSHIP_ID], "otherrelationship")
        self.assertEqual(C.PREDICATE_CLASSES[C.CONTACTING.start], "carrying")

    def test_pkl_spellings(self):
        self.assertEqual(C.object_name_to_id("sofa/couch"), C.OBJECT_CLASSES.index("sofacouch"))
        self.assertEqual(C.object_name_to_id("cup/glass/bottle"), 10)
        self.assertEqual(C.predicate_name_to_id("looking_at"), 0)
        self.assertEqual(C.predicate_name_to_id("have_it_on_the_back"), 13)
        self.assertIs(C.group_of_predicate(8), C.SPATIAL)
        with self.assertRaisesRegex(KeyError, "couch"):
            C.object_name_to_id("couch")
        with self.assertRaisesRegex(KeyError, "looking_near"):
            C.predicate_name_to_id("looking_near")
        with self.assertRaises(ValueError):
            C.group_of_predicate(26)

    def test_read_class_file_rejects_wrong_count_and_duplicates(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "classes.txt")
            with open(path, "w") as f:
                f.write("a\nb\na")
            with self.assertRaisesRegex(ValueError, "duplicate"):
                C.read_class_file(path, 3)
            with self.assertRaisesRegex(ValueError, r"classes\.txt: expected 4"):
                C.read_class_file(path, 4)


class TestPredicateVocabularies(unittest.TestCase):
    def test_release_and_paper(self):
        self.assertEqual(V.RELEASE.size, 26)
        self.assertEqual(V.RELEASE.group_sizes, (3, 6, 17))
        self.assertEqual(V.PAPER.size, 25)
        self.assertEqual(V.PAPER.group_sizes, (3, 6, 16))
        self.assertEqual(V.PAPER.multi_label, (False, True, True))
        self.assertEqual(V.PAPER.group("contacting").start, 9)
        self.assertEqual(V.PAPER.group("contacting").stop, 25)
        self.assertNotIn("otherrelationship", V.PAPER.classes)
        self.assertIs(V.predicate_vocabulary(25), V.PAPER)
        with self.assertRaisesRegex(ConfigError, "NUM_PREDICATES=17"):
            V.predicate_vocabulary(17, "NUM_PREDICATES")

    def test_id_conversion(self):
        # sitting_on: release 19, paper 18; other_relationship (release 18) has no paper id
        self.assertEqual(V.PAPER.to_release(18), 19)
        self.assertEqual(V.PAPER.from_release(19), 18)
        self.assertIsNone(V.PAPER.from_release(18))
        self.assertEqual(V.PAPER.from_release(17), 17)  # not_contacting keeps its id
        self.assertEqual(V.PAPER.classes[18], "sittingon")
        for i in range(25):
            self.assertEqual(V.PAPER.from_release(V.PAPER.to_release(i)), i)
        self.assertEqual([V.RELEASE.to_release(i) for i in range(26)], list(range(26)))
        self.assertIs(V.PAPER.group_of(24), V.PAPER.group("contacting"))
        with self.assertRaises(ValueError):
            V.PAPER.to_release(25)

    def test_readable_names(self):
        self.assertEqual(V.RELEASE.readable_names[1], "not looking at")
        self.assertEqual(V.RELEASE.readable_names[7], "on the side of")
        self.assertEqual(V.PAPER.readable_names[18], "sitting on")
        self.assertEqual(V.object_display_name("closetcabinet"), "closet/cabinet")
        self.assertEqual(V.predicate_display_name("notlookingat"), "not looking at")
        self.assertEqual(V.predicate_display_name("already readable"), "already readable")

    def test_metadata_roundtrip(self):
        for vocab in (V.RELEASE, V.PAPER):
            self.assertIs(V.PredicateVocabulary.from_metadata(vocab.metadata()), vocab)
            self.assertIs(V.vocabulary_for_widths(vocab.group_sizes), vocab)
        bad = dict(V.PAPER.metadata(), predicate_groups={"attention": (0, 3)})
        with self.assertRaisesRegex(ConfigError, "predicate_groups"):
            V.PredicateVocabulary.from_metadata(bad, "dataset 'x'")
        with self.assertRaisesRegex(ConfigError, "dataset 'y'.*24 names"):
            V.PredicateVocabulary.from_metadata({"predicate_classes": ["a"] * 24}, "dataset 'y'")


class TestRelationMode(unittest.TestCase):
    def test_parse_any_case(self):
        for text in ("sgdet", "SGDet", " SGDET "):
            self.assertIs(RelationMode.parse(text), RelationMode.SGDET)
        self.assertIs(RelationMode.parse(RelationMode.SGCLS), RelationMode.SGCLS)
        self.assertEqual(str(RelationMode.PREDCLS), "predcls")
        with self.assertRaisesRegex(ConfigError, "MODEL.ROI_RELATION_HEAD.MODE='sgdt'"):
            RelationMode.parse("sgdt")

    def test_reexported_from_modeling(self):
        from ag_detectron.modeling import RelationMode as M

        self.assertIs(M, RelationMode)


def _imported_modules(path: str, package: str) -> set:
    """Absolute names of the ag_detectron modules imported (anywhere) by one source file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("ag_detectron")}


def _package_imports(subpackage: str) -> dict:
    root = os.path.join(PACKAGE_DIR, *subpackage.split(".")[1:])
    found = {}
    files = (
        [root + ".py"]
        if os.path.isfile(root + ".py")
        else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".py")]
    )
    for path in files:
        rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
        package = rel[: -len(".__init__")] if rel.endswith(".__init__") else rel.rsplit(".", 1)[0]
        found[rel] = _imported_modules(path, package)
    return found


class TestLayers(unittest.TestCase):
    def test_resolver_sees_relative_and_absolute_imports(self):
        # the checker itself can fail: the data layer does import ag_detectron.data modules
        data = _package_imports("ag_detectron.data")
        self.assertTrue(any("ag_detectron.data.datasets.ag_categories" in m for m in data.values()))

    def test_modeling_and_evaluation_do_not_import_data(self):
        for pkg in ("ag_detectron.modeling", "ag_detectron.evaluation"):
            for module, imports in _package_imports(pkg).items():
                bad = sorted(m for m in imports if m.startswith("ag_detectron.data"))
                self.assertEqual(bad, [], f"{module} imports {bad}")

    def test_feature_bank_reader_does_not_import_data(self):
        # the model layer reads banks through ag_detectron.feature_bank; only its dataset producers
        # (the oracle bank, the extraction tool) may read the data layer
        producers = {"ag_detectron.feature_bank.oracle", "ag_detectron.feature_bank.extract"}
        for module, imports in _package_imports("ag_detectron.feature_bank").items():
            if module in producers:
                continue
            bad = sorted(m for m in imports if m.startswith("ag_detectron.data"))
            self.assertEqual(bad, [], f"{module} imports {bad}")

    def test_vocabulary_and_modes_are_dependency_free(self):
        for pkg in ("ag_detectron.vocabulary", "ag_detectron.modes"):
            for module, imports in _package_imports(pkg).items():
                self.assertLessEqual(
                    imports, {"ag_detectron.errors", "ag_detectron.errors.ConfigError"}, module
                )
        # and in a fresh interpreter they pull in neither torch nor detectron2 themselves
        code = (
            "import sys, importlib.util as u, os;"
            "sys.modules.setdefault('ag_detectron', type(sys)('ag_detectron'));"
            f"sys.modules['ag_detectron'].__path__ = [{os.path.abspath(PACKAGE_DIR)!r}];"
            "import ag_detectron.vocabulary, ag_detectron.modes;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'detectron2')))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "[]")


@unittest.skipUnless(
    os.path.isdir(REFERENCE_DIR), "the release class files (REFERENCE_DIR) are not present"
)
class TestAgainstReleaseFiles(unittest.TestCase):
    def test_packaged_files_are_byte_identical(self):
        for name in ("object_classes.txt", "relationship_classes.txt"):
            with open(os.path.join(REFERENCE_DIR, name), "rb") as f:
                reference = f.read()
            with open(os.path.join(C.VOCAB_DIR, name), "rb") as f:
                self.assertEqual(f.read(), reference, name)

    def test_trailing_space_variant_reads_identically(self):
        variant = os.path.join(REFERENCE_DIR, "variants", "SEAD__object_classes.txt")
        self.assertEqual(tuple(C.read_class_file(variant, 36)), C.OBJECT_CLASSES)

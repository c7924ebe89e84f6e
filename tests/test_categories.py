"""The packaged vocabularies equal the release class files byte for byte, and the name maps are exact."""
import os
import tempfile
import unittest

from ag_detectron.data.datasets import ag_categories as C

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
        self.assertEqual(C.CONTACTING.names[0], "carrying")

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


@unittest.skipUnless(os.path.isdir(REFERENCE_DIR), "shared/reference/ag not present")
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

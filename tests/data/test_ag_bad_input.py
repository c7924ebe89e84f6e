import math
import os
import tempfile
import unittest

import numpy as np

from ag_detectron.data.datasets import load_action_genome_with_counts
from ag_detectron.errors import DatasetFormatError
from ag_detectron.utils.ag_fixtures import (
    make_ag_annotations,
    object_entry,
    person_entry,
    write_ag_root,
)

KEY = "001YG.mp4/000089.png"


class TestBadInput(unittest.TestCase):
    """Each malformed input raises DatasetFormatError naming the file, the frame key and the
    field."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.persons, self.objects = make_ag_annotations()

    def tearDown(self):
        self.tmp.cleanup()

    def _expect(self, *fragments, split="train", **write_kw):
        write_ag_root(self.root, self.persons, self.objects, **write_kw)
        with self.assertRaises(DatasetFormatError) as ctx:
            load_action_genome_with_counts(self.root, split, use_cache=False)
        for frag in fragments:
            self.assertIn(frag, str(ctx.exception))
        return str(ctx.exception)

    def test_missing_root_and_files(self):
        missing = os.path.join(self.root, "nowhere")
        with self.assertRaisesRegex(DatasetFormatError, "nowhere"):
            load_action_genome_with_counts(missing, "train", use_cache=False)
        write_ag_root(self.root, self.persons, self.objects)
        os.remove(os.path.join(self.root, "annotations", "person_bbox.pkl"))
        with self.assertRaisesRegex(DatasetFormatError, "person_bbox.pkl"):
            load_action_genome_with_counts(self.root, "train", use_cache=False)

    def test_key_sets_differ(self):
        del self.persons[KEY]
        msg = self._expect("person_bbox.pkl", "object_bbox_and_relationship.pkl", KEY)
        self.assertIn("1 only in object_bbox_and_relationship", msg)

    def test_frame_list_disagrees(self):
        keys = sorted(self.objects)[1:]
        self._expect("frame_list.txt", frame_list=keys)

    def test_bad_frame_key(self):
        self.persons["001YG/89.png"] = self.persons.pop(KEY)
        self.objects["001YG/89.png"] = self.objects.pop(KEY)
        self._expect("frame_list.txt", "001YG/89.png")

    def test_visible_object_without_box(self):
        self.objects[KEY][0]["bbox"] = None
        self._expect("object_bbox_and_relationship.pkl", KEY, "chair", "bbox")

    def test_unknown_class(self):
        self.objects[KEY][0]["class"] = "sofa"
        self._expect(KEY, "unknown class 'sofa'")

    def test_unknown_predicate(self):
        self.objects[KEY][0]["spatial_relationship"] = ["next_to"]
        self._expect(KEY, "next_to", "spatial_relationship")

    def test_attention_not_single(self):
        self.objects[KEY][0]["attention_relationship"] = ["looking_at", "unsure"]
        self._expect(KEY, "attention_relationship", "exactly one")

    def test_relation_field_none_on_visible(self):
        self.objects[KEY][0]["contacting_relationship"] = None
        self._expect(KEY, "contacting_relationship", "expected a list")

    def test_non_finite_box(self):
        self.objects[KEY][0]["bbox"] = (math.nan, 1.0, 2.0, 3.0)
        self._expect(KEY, "non-finite", "bbox")

    def test_degenerate_box(self):
        self.objects[KEY][0]["bbox"] = (10.0, 10.0, 0.0, 5.0)
        self._expect(KEY, "degenerate", "x2 > x1")
        self.objects[KEY][0]["bbox"] = (10.0, 10.0, 5.0, 5.0)
        self.persons[KEY] = person_entry([50.0, 50.0, 40.0, 100.0])
        self._expect("person_bbox.pkl", KEY, "degenerate")

    def test_box_outside_frame(self):
        self.objects[KEY][0]["bbox"] = (500.0, 10.0, 20.0, 20.0)  # x1 > W = 480
        self._expect(KEY, "outside the 480x270 frame")

    def test_slightly_outside_box_is_clipped_and_counted(self):
        self.persons[KEY] = person_entry([-2.0, 71.4, 481.5, 270.5])
        write_ag_root(self.root, self.persons, self.objects)
        with self.assertLogs("ag_detectron.data.datasets.action_genome", level="WARNING") as logs:
            dicts, counts = load_action_genome_with_counts(self.root, "train", use_cache=False)
        self.assertEqual(counts["clipped_boxes"], 1)
        self.assertEqual(dicts[0]["annotations"][0]["bbox"], [0.0, 71.4000015258789, 480.0, 270.0])
        self.assertTrue(any("clipped 1 boxes" in line for line in logs.output))

    def test_person_box_shape(self):
        self.persons[KEY]["bbox"] = np.zeros((2, 4), dtype=np.float32)
        self._expect("person_bbox.pkl", KEY, "'bbox'", "(n, 4)")
        self.persons[KEY]["bbox"] = [1, 2, 3, 4]
        self._expect("person_bbox.pkl", KEY)

    def test_empty_object_list(self):
        self.objects[KEY] = []
        self._expect(KEY, "non-empty list")

    def test_split_conflict_within_video(self):
        self.objects["001YG.mp4/000093.png"][0]["metadata"]["set"] = "test"
        self._expect("001YG.mp4/000093.png", "video '001YG'", "one split per video")

    def test_split_conflict_within_frame(self):
        key = "001YG.mp4/000095.png"
        self.objects[key][1]["metadata"]["set"] = "test"
        self._expect(key, "disagree on metadata.set")

    def test_bad_split_value(self):
        self.objects[KEY][0]["metadata"]["set"] = "val"
        self._expect(KEY, "metadata.set", "'val'")

    def test_missing_field(self):
        del self.objects[KEY][0]["visible"]
        self._expect(KEY, "missing field", "visible")

    def test_unknown_split_argument(self):
        write_ag_root(self.root, self.persons, self.objects)
        with self.assertRaisesRegex(DatasetFormatError, "'val'"):
            load_action_genome_with_counts(self.root, "val", use_cache=False)

    def test_invisible_object_may_have_none_fields(self):
        self.objects[KEY].append(object_entry("bag", KEY, "train"))
        write_ag_root(self.root, self.persons, self.objects)
        _, counts = load_action_genome_with_counts(self.root, "train", use_cache=False)
        self.assertEqual(counts["invisible_objects"], 3)


if __name__ == "__main__":
    unittest.main()

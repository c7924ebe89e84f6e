"""Re-derived scenes: the boxed subset equals the written annotations; the exhaustive set and the
ceiling."""

import json
import os
import shutil
import tempfile
import unittest

from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.data.datasets import load_action_genome, register_action_genome
from ag_detectron.data.synthetic import generate
from ag_detectron.data.synthetic.drawn import (
    context_blind_ceiling,
    drawn_objects,
    exhaustive_dicts,
    register_exhaustive,
)

PERSON = 0


class TestDrawnObjects(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ag_synth_drawn_")
        cls.root = os.path.join(cls.tmp, "ag_synth")
        generate(cls.root, num_videos=8, seed=5, test_fraction=0.5, num_workers=1)
        cls.dicts = {s: load_action_genome(cls.root, s, use_cache=False) for s in ("train", "test")}
        cls.drawn = {s: drawn_objects(cls.root, s) for s in ("train", "test")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_boxed_subset_is_the_annotation(self):
        for split in ("train", "test"):
            dicts, drawn = self.dicts[split], self.drawn[split]
            self.assertEqual(len(drawn), len(dicts), split)
            n_unboxed = 0
            for d in dicts:
                objs = drawn[(d["video_id"], d["frame_number"])]
                boxed = sorted((o.category_id, o.bbox) for o in objs if o.annotated)
                gt = sorted(
                    (a["category_id"], tuple(a["bbox"]))
                    for a in d["annotations"]
                    if a["category_id"] != PERSON
                )
                self.assertEqual([c for c, _ in boxed], [c for c, _ in gt], d["file_name"])
                for (_, b), (_, g) in zip(boxed, gt):
                    for u, v in zip(b, g):  # the pkl stores xywh rounded to 2 decimals
                        self.assertAlmostEqual(u, v, delta=0.02, msg=d["file_name"])
                n_unboxed += sum(not o.annotated for o in objs)
            # every video has 1-3 distractors, drawn in each of its sampled frames
            self.assertGreaterEqual(n_unboxed, len(dicts), split)

    def test_exhaustive_dicts_add_only_unboxed_objects(self):
        dicts, drawn = self.dicts["test"], self.drawn["test"]
        full = exhaustive_dicts(dicts, drawn)
        for d, e in zip(dicts, full):
            objs = drawn[(d["video_id"], d["frame_number"])]
            self.assertEqual(e["annotations"][: len(d["annotations"])], d["annotations"])
            added = e["annotations"][len(d["annotations"]) :]
            self.assertEqual(len(added), sum(not o.annotated for o in objs))
            classes = [a["category_id"] for a in e["annotations"]]
            self.assertEqual(len(classes), len(set(classes)))  # one instance per class per frame
        self.assertIsNot(full[0]["annotations"], dicts[0]["annotations"])  # inputs untouched
        with self.assertRaises(KeyError):
            exhaustive_dicts(self.dicts["train"], drawn)

    def test_registered_exhaustive_dataset_and_ceiling(self):
        register_action_genome("_drawn_test_base", self.root, "test")
        register_exhaustive("_drawn_test_all", "_drawn_test_base", self.root, "test")
        try:
            full = DatasetCatalog.get("_drawn_test_all")
            self.assertEqual(len(full), len(self.dicts["test"]))
            meta = MetadataCatalog.get("_drawn_test_all")
            self.assertEqual(meta.evaluator_type, "coco")
            self.assertEqual(len(meta.thing_classes), 36)
            # a detector that boxes only the annotated objects is perfect under the AG
            # annotations ...
            only_boxed = {k: [o for o in v if o.annotated] for k, v in self.drawn["test"].items()}
            perfect = context_blind_ceiling("_drawn_test_base", only_boxed, seeds=(0,))
            self.assertAlmostEqual(perfect["AP50"], 1.0, places=6)
            # ... one that also boxes the unannotated look-alikes is charged their false positives
            blind = context_blind_ceiling("_drawn_test_base", self.drawn["test"], seeds=(0, 1))
            self.assertLess(blind["AP50"], 0.95)
            self.assertGreater(blind["AP50"], 0.0)
        finally:
            for name in ("_drawn_test_base", "_drawn_test_all"):
                DatasetCatalog.remove(name)
                MetadataCatalog.remove(name)

    def test_bad_generation_record(self):
        bad = os.path.join(self.tmp, "bad")
        os.makedirs(bad, exist_ok=True)
        with self.assertRaisesRegex(ValueError, "generation.json"):
            drawn_objects(bad, "test")
        with open(os.path.join(self.root, "generation.json")) as f:
            record = json.load(f)
        record["params"]["version"] = -1
        with open(os.path.join(bad, "generation.json"), "w") as f:
            json.dump(record, f)
        with self.assertRaisesRegex(ValueError, "version -1"):
            drawn_objects(bad, "test")
        with self.assertRaisesRegex(ValueError, "split"):
            drawn_objects(self.root, "val")


if __name__ == "__main__":
    unittest.main()

import os
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, DatasetMapper, MetadataCatalog
from detectron2.data import transforms as T

from ag_detectron.config import add_ag_config
from ag_detectron.data import RelationDatasetMapper
from ag_detectron.data.datasets import register_action_genome
from ag_detectron.data.datasets.builtin import register_all_action_genome
from ag_detectron.errors import DatasetFormatError
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root

GROUPS = {"attention": (0, 3), "spatial": (3, 9), "contacting": (9, 26)}


class TestRelationDatasetMapper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.datasets = cls.tmp.name
        root = os.path.join(cls.datasets, "action_genome")
        persons, objects = make_ag_annotations()
        write_ag_root(root, persons, objects, images=True)
        cls.cache_env = mock.patch.dict(
            os.environ, {"AG_CACHE": os.path.join(cls.datasets, "cache")}
        )
        cls.cache_env.start()
        cls.name = "test_mapper_ag_train"
        register_action_genome(cls.name, root, "train")
        cls.dicts = DatasetCatalog.get(cls.name)

    @classmethod
    def tearDownClass(cls):
        cls.cache_env.stop()
        DatasetCatalog.remove(cls.name)
        MetadataCatalog.remove(cls.name)
        cls.tmp.cleanup()

    def _frame(self, key="001YG.mp4/000095.png"):
        return [d for d in self.dicts if d["image_id"] == key][0]

    def test_builtin_name_on_fixture_root(self):
        with mock.patch.dict(os.environ, {"AG_DATASETS": self.datasets}):
            names = ["ag_train", "ag_test"]
            for n in names:
                if n in DatasetCatalog.list():
                    DatasetCatalog.remove(n)
                    MetadataCatalog.remove(n)
            register_all_action_genome(os.environ["AG_DATASETS"])
            try:
                dicts = DatasetCatalog.get("ag_train")
                meta = MetadataCatalog.get("ag_train")
                self.assertEqual(len(dicts), 6)
                self.assertEqual(len(meta.thing_classes), 36)
                self.assertEqual(len(meta.predicate_classes), 26)
                self.assertEqual(meta.predicate_groups, GROUPS)
                self.assertEqual(meta.evaluator_type, "ag_relation")
                cfg = get_cfg()
                add_ag_config(cfg)
                cfg.DATASETS.TRAIN = ("ag_train",)
                cfg.INPUT.MIN_SIZE_TRAIN = (135,)
                d2 = DatasetMapper(cfg, is_train=True)(dicts[0])
                self.assertEqual(len(d2["instances"]), 2)
                rel = RelationDatasetMapper(cfg, is_train=True)(dicts[0])
                self.assertEqual(tuple(rel["image"].shape[1:]), (135, 240))
                self.assertEqual(rel["relations"].gt_pair_idx.tolist(), [[0, 1]])
            finally:
                for n in names:
                    DatasetCatalog.remove(n)
                    MetadataCatalog.remove(n)

    def test_resize_scales_boxes_and_keeps_pairs(self):
        d = self._frame()
        mapper = RelationDatasetMapper(
            is_train=False,
            augmentations=[T.Resize((135, 240))],
            image_format="BGR",
            predicate_groups=GROUPS,
        )
        out = mapper(d)
        self.assertEqual(tuple(out["image"].shape), (3, 135, 240))
        boxes = out["instances"].gt_boxes.tensor
        expected = torch.tensor([a["bbox"] for a in d["annotations"]]) * 0.5
        self.assertTrue(torch.allclose(boxes, expected, atol=1e-4))
        self.assertEqual(out["instances"].gt_classes.tolist(), [0, 7, 4])
        self.assertEqual(out["relations"].gt_pair_idx.tolist(), [[0, 1], [0, 2]])
        self.assertEqual(out["relations"].gt_attention.tolist(), [[0, 1, 0], [0, 0, 1]])
        self.assertIn("annotations", d)  # the input dict is not modified

    def test_flip(self):
        d = self._frame()
        mapper = RelationDatasetMapper(
            is_train=True,
            augmentations=[T.RandomFlip(prob=1.0, horizontal=True)],
            image_format="BGR",
            predicate_groups=GROUPS,
        )
        out = mapper(d)
        x1, y1, x2, y2 = d["annotations"][1]["bbox"]
        self.assertTrue(
            torch.allclose(
                out["instances"].gt_boxes.tensor[1], torch.tensor([480 - x2, y1, 480 - x1, y2])
            )
        )
        self.assertEqual(out["relations"].gt_pair_idx.tolist(), [[0, 1], [0, 2]])

    def test_crop_drops_box_and_reindexes_pairs(self):
        d = self._frame()
        # the book sits at x in [300, 310]; cropping x in [0, 290) empties it (index 2) -> its pair
        # goes
        d = dict(d, annotations=[d["annotations"][0], d["annotations"][2], d["annotations"][1]])
        d["relations"] = [dict(d["relations"][1], object=1), dict(d["relations"][0], object=2)]
        mapper = RelationDatasetMapper(
            is_train=True,
            augmentations=[T.CropTransform(0, 0, 290, 270)],
            image_format="BGR",
            predicate_groups=GROUPS,
        )
        out = mapper(d)
        self.assertEqual(out["instances"].gt_classes.tolist(), [0, 7])
        self.assertEqual(out["relations"].gt_pair_idx.tolist(), [[0, 1]])
        self.assertEqual(out["relations"].gt_contacting[0].nonzero().flatten().tolist(), [19 - 9])

    def test_no_person_frame_has_no_pairs(self):
        dicts = DatasetCatalog.get(self.name)
        d = dict(dicts[0], annotations=dicts[0]["annotations"][1:])
        d["relations"] = [dict(r, subject=-1, object=0) for r in dicts[0]["relations"]]
        mapper = RelationDatasetMapper(
            is_train=False, augmentations=[], image_format="RGB", predicate_groups=GROUPS
        )
        out = mapper(d)
        self.assertEqual(len(out["relations"]), 0)
        self.assertEqual(tuple(out["relations"].gt_pair_idx.shape), (0, 2))

    def test_undecodable_image(self):
        d = dict(self._frame())
        bad = os.path.join(self.datasets, "broken.png")
        with open(bad, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot really")
        d["file_name"] = bad
        mapper = RelationDatasetMapper(
            is_train=False, augmentations=[], image_format="BGR", predicate_groups=GROUPS
        )
        with self.assertRaisesRegex(DatasetFormatError, "broken.png"):
            mapper(d)

    def test_from_config_flip_gate(self):
        cfg = get_cfg()
        add_ag_config(cfg)
        cfg.DATASETS.TRAIN = (self.name,)
        augs = RelationDatasetMapper.from_config(cfg, True)["augmentations"]
        self.assertTrue(any(isinstance(a, T.RandomFlip) for a in augs))
        no_flip = "test_mapper_no_flip"
        MetadataCatalog.get(no_flip).set(predicate_groups=GROUPS)  # no allow_horizontal_flip flag
        try:
            cfg.DATASETS.TRAIN = (self.name, no_flip)
            augs = RelationDatasetMapper.from_config(cfg, True)["augmentations"]
            self.assertFalse(any(isinstance(a, T.RandomFlip) for a in augs))
        finally:
            MetadataCatalog.remove(no_flip)
        cfg.DATASETS.TEST = ("coco_2017_val",)  # no relation metadata
        with self.assertRaises(DatasetFormatError):
            RelationDatasetMapper.from_config(cfg, False)

    def test_image_matches_file(self):
        d = self._frame()
        mapper = RelationDatasetMapper(
            is_train=False, augmentations=[], image_format="RGB", predicate_groups=GROUPS
        )
        out = mapper(d)
        from PIL import Image

        ref = np.asarray(Image.open(d["file_name"]).convert("RGB")).transpose(2, 0, 1)
        self.assertTrue(np.array_equal(out["image"].numpy(), ref))


if __name__ == "__main__":
    unittest.main()

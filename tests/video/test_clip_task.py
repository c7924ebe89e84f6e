"""ClipClassificationTask: loaders over a registered Charades split, views, the evaluator."""

import logging

import pytest
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.config import add_ag_config
from ag_detectron.data.datasets import register_charades
from ag_detectron.engine.clip_task import ClipClassificationTask
from ag_detectron.engine.tasks import TASK_REGISTRY
from ag_detectron.errors import ConfigError


@pytest.fixture
def cfg(charades_root):
    name = "clip_task_test_charades"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_charades(name, charades_root, "test")
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.DATASETS.TRAIN = (name,)
    cfg.DATASETS.TEST = (name,)
    cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE = 4, 4
    cfg.INPUT.CLIP.TRAIN_JITTER_SCALES = (24, 28)
    cfg.INPUT.CLIP.TRAIN_CROP_SIZE = 24
    cfg.INPUT.CLIP.TEST_CROP_SIZE = 24
    cfg.TEST.CLIP.NUM_ENSEMBLE_VIEWS, cfg.TEST.CLIP.NUM_SPATIAL_CROPS = 2, 3
    cfg.TEST.CLIP.BATCH_SIZE = 4
    cfg.SOLVER.IMS_PER_BATCH = 3
    cfg.DATALOADER.NUM_WORKERS = 0
    return cfg


def test_registered():
    # the registry is keyed by class name; tasks are looked up by their ``name`` attribute
    assert [cls for _, cls in TASK_REGISTRY if cls.name == "clip_classification"] == [
        ClipClassificationTask
    ]
    assert ClipClassificationTask.evaluator_types == ("charades",)


def test_train_loader(cfg, caplog):
    with caplog.at_level(logging.INFO, logger="ag_detectron.engine.clip_task"):
        loader = ClipClassificationTask.build_train_loader(cfg)
    lines = [r.getMessage() for r in caplog.records if "Clip loader" in r.getMessage()]
    # 4 videos, VIDC3 has no action; VIDB2 (10 frames) is shorter than a clip (13 frames)
    assert len(lines) == 1 and "3 videos; 1 videos without actions left out" in lines[0]
    assert "1 videos shorter than one clip (13 frames" in lines[0]
    batch = next(iter(loader))
    assert len(batch) == 3
    assert all(tuple(b["clip"].shape) == (3, 4, 24, 24) for b in batch)
    assert all(b["video_id"] != "VIDC3" for b in batch)


def test_test_loader_one_item_per_view(cfg):
    loader = ClipClassificationTask.build_test_loader(cfg, cfg.DATASETS.TEST[0])
    items = [d for batch in loader for d in batch]
    assert [len(b) for b in loader] == [4, 4, 4, 4, 2]  # 3 videos x 6 views, batches of 4
    assert [(d["video_id"], d["view"]) for d in items[:6]] == [
        ("VIDA1", (t, s)) for t in range(2) for s in range(3)
    ]
    cfg.DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS = True
    items = [
        d
        for batch in ClipClassificationTask.build_test_loader(cfg, cfg.DATASETS.TEST[0])
        for d in batch
    ]
    assert len(items) == 24 and {d["video_id"] for d in items} >= {"VIDC3"}


def test_evaluator_aggregates_views(cfg, tmp_path):
    name = cfg.DATASETS.TEST[0]
    evaluator = ClipClassificationTask.build_evaluator(cfg, name, str(tmp_path))
    evaluator._distributed = False
    evaluator.reset()
    loader = ClipClassificationTask.build_test_loader(cfg, name)
    for batch in loader:
        # one perfect view per video (view (0, 0)); the others score 0: max keeps the perfect one
        outs = [b["labels"] * float(b["view"] == (0, 0)) for b in batch]
        evaluator.process(batch, outs)
    res = evaluator.evaluate()["charades"]
    assert res["mAP"] == pytest.approx(1.0)


def test_wrong_dataset_type(cfg):
    MetadataCatalog.get("clip_task_not_charades").set(evaluator_type="coco")
    cfg.DATASETS.TRAIN = ("clip_task_not_charades",)
    with pytest.raises(ConfigError, match="clip_task_not_charades"):
        ClipClassificationTask.build_train_loader(cfg)

"""``ClipClassificationTask``: loaders and evaluator of Charades clip classifiers (docs/video.md).

- Train loader: every dict of ``DATASETS.TRAIN`` (videos without actions left out unless
  ``DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS``), one random clip per item
  (:class:`~ag_detectron.data.clip_mapper.ClipDatasetMapper`), batches of ``SOLVER.IMS_PER_BATCH``
  clips in total, no aspect-ratio grouping, through the resumable training stream (exact
  ``--resume``).
- Test loader: each video expanded to ``TEST.CLIP.NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS`` items,
  one per view, batches of ``TEST.CLIP.BATCH_SIZE`` views.
- Evaluator: :class:`~ag_detectron.evaluation.CharadesEvaluator`, which aggregates the views of a
  video by ``video_id`` (``TEST.CHARADES.AGGREGATION``).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Sequence

from detectron2.config import CfgNode
from detectron2.data import (
    DatasetCatalog,
    MetadataCatalog,
    build_detection_test_loader,
)
from detectron2.evaluation import DatasetEvaluator

from ..data.clip_mapper import ClipDatasetMapper, expand_test_views
from ..data.clip_sampling import CHARADES_FPS, clip_span
from ..data.datasets.charades_frame_lists import attach_frame_list
from ..errors import ConfigError, DatasetFormatError
from .tasks import TASK_REGISTRY, Task
from .train_stream import build_resumable_train_loader

__all__ = ["ClipClassificationTask", "clip_video_dicts"]

logger = logging.getLogger(__name__)


def clip_video_dicts(
    cfg: CfgNode, dataset_names: Sequence[str], keep_without_actions: bool
) -> List[Dict[str, Any]]:
    """The video dicts of ``dataset_names``, without videos that have no action unless asked.

    Logs one line per call: videos kept, videos left out, and videos shorter than one clip (by
    their ``length``), which the mapper pads by repeating the last frame.
    """
    dicts: List[Dict[str, Any]] = []
    listed = []
    for name in dataset_names:
        videos = DatasetCatalog.get(name)
        dicts.extend(videos)
        if cfg.INPUT.CLIP.FRAME_LIST_DIR:
            listed.extend(_from_frame_list(cfg, name, videos))
    if cfg.INPUT.CLIP.FRAME_LIST_DIR:
        logger.info(
            f"Clip loader {list(dataset_names)}: {len(listed)} of {len(dicts)} videos in the frame "
            f"lists of INPUT.CLIP.FRAME_LIST_DIR={cfg.INPUT.CLIP.FRAME_LIST_DIR!r}"
        )
        dicts = listed
    kept = dicts if keep_without_actions else [d for d in dicts if any(d["labels"])]
    span = clip_span(cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE)
    short = sum(round(float(d["length"]) * CHARADES_FPS) < span for d in kept)
    logger.info(
        f"Clip loader {list(dataset_names)}: {len(kept)} videos; "
        f"{len(dicts) - len(kept)} videos without actions "
        f"{'kept' if keep_without_actions else 'left out'} "
        f"(DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS={keep_without_actions}); {short} videos shorter "
        f"than one clip ({span} frames = {span / CHARADES_FPS:.2f} s) padded with their last frame"
    )
    if not kept:
        raise DatasetFormatError(f"datasets {list(dataset_names)}: no video to make clips from")
    return kept


def _from_frame_list(cfg: CfgNode, name: str, videos: List[Dict[str, Any]]) -> List[dict]:
    meta = MetadataCatalog.get(name)
    split = meta.get("split", None)
    if split not in ("train", "test"):
        raise ConfigError(
            f"INPUT.CLIP.FRAME_LIST_DIR is set but dataset {name!r} has metadata split "
            f"{split!r}; expected 'train' (train.csv) or 'test' (val.csv)"
        )
    list_path = os.path.join(
        cfg.INPUT.CLIP.FRAME_LIST_DIR, "train.csv" if split == "train" else "val.csv"
    )
    prefix = cfg.INPUT.CLIP.FRAME_LIST_PATH_PREFIX or os.path.join(meta.root, "Charades_v1_rgb")
    return attach_frame_list(videos, list_path, prefix)


@TASK_REGISTRY.register()
class ClipClassificationTask(Task):
    """Multi-label clip classification on Charades-style video datasets."""

    name = "clip_classification"
    evaluator_types = ("charades",)

    @classmethod
    def build_mapper(cls, cfg: CfgNode, is_train: bool) -> ClipDatasetMapper:
        return ClipDatasetMapper(cfg, is_train=is_train)

    @classmethod
    def build_train_loader(cls, cfg: CfgNode) -> Any:
        for name in cfg.DATASETS.TRAIN:
            cls.check_dataset(cfg, name)
        dicts = clip_video_dicts(
            cfg, cfg.DATASETS.TRAIN, cfg.DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS
        )
        return build_resumable_train_loader(
            cfg, dicts, cls.build_mapper(cfg, True), aspect_ratio_grouping=False
        )

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str) -> Any:
        cls.check_dataset(cfg, dataset_name)
        dicts = clip_video_dicts(cfg, [dataset_name], cfg.DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS)
        views = expand_test_views(
            dicts, cfg.TEST.CLIP.NUM_ENSEMBLE_VIEWS, cfg.TEST.CLIP.NUM_SPATIAL_CROPS
        )
        return build_detection_test_loader(
            views,
            mapper=cls.build_mapper(cfg, False),
            batch_size=cfg.TEST.CLIP.BATCH_SIZE,
            num_workers=cfg.DATALOADER.NUM_WORKERS,
        )

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_dir: str) -> DatasetEvaluator:
        from ..evaluation import CharadesEvaluator

        return CharadesEvaluator(dataset_name, cfg=cfg, output_dir=output_dir)

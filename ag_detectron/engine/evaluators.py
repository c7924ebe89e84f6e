"""Evaluator builders shared by the tasks, and :func:`build_ag_evaluator` (the task's evaluator of a
dataset, after checking that the task accepts it).

Which evaluators score which model on which dataset is decided by the task
(``ag_detectron/engine/builtin_tasks.py``; table in ``docs/engine.md``), never by the name of the
meta-architecture.
"""

import os
from typing import Optional

from detectron2.config import CfgNode
from detectron2.evaluation import COCOEvaluator, DatasetEvaluator

from ..modes import RelationMode
from .tasks import task_of

__all__ = ["build_ag_evaluator", "coco_box_evaluator", "relation_evaluator"]


def coco_box_evaluator(cfg: CfgNode, dataset_name: str, output_dir: str) -> COCOEvaluator:
    """COCO box AP of ``dataset_name`` (up to ``TEST.DETECTIONS_PER_IMAGE`` detections per
    image)."""
    # use_fast_impl=False: the compiled detectron2._C COCOeval is not available in this install.
    # allow_cached_coco=False: the COCO-format ground truth is rebuilt from the dataset dicts each
    # time (cheap), so a regenerated dataset never meets a stale cache in output_dir.
    return COCOEvaluator(
        dataset_name,
        tasks=("bbox",),
        distributed=True,
        output_dir=output_dir,
        max_dets_per_image=cfg.TEST.DETECTIONS_PER_IMAGE,
        use_fast_impl=False,
        allow_cached_coco=False,
    )


def relation_evaluator(
    cfg: CfgNode, dataset_name: str, output_dir: str, mode: RelationMode
) -> DatasetEvaluator:
    """``ActionGenomeRelationEvaluator`` with ``TEST.RELATION.*`` and the parsed ``mode``; the
    number of predicates comes from the dataset's metadata."""
    # Imported lazily: the evaluation package is only needed for scene-graph configs.
    from ..evaluation import ActionGenomeRelationEvaluator

    r = cfg.TEST.RELATION
    return ActionGenomeRelationEvaluator(
        dataset_name,
        mode.value,
        topk=tuple(r.TOPK),
        constraints=tuple(r.CONSTRAINTS),
        iou_thresh=r.IOU_THRESH,
        semi_thresh=r.SEMI_THRESH,
        output_dir=output_dir,
    )


def build_ag_evaluator(
    cfg: CfgNode, dataset_name: str, output_dir: Optional[str] = None
) -> DatasetEvaluator:
    """The evaluator(s) of ``task_of(cfg)`` for ``dataset_name``.

    Args:
        cfg: a frozen config.
        dataset_name: a registered dataset whose metadata has ``evaluator_type``.
        output_dir: where evaluators dump predictions; default ``cfg.OUTPUT_DIR/inference``.

    Raises:
        ConfigError: the task does not accept the dataset's ``evaluator_type`` (or it has none).
    """
    task = task_of(cfg)
    task.check_dataset(cfg, dataset_name)
    return task.build_evaluator(
        cfg, dataset_name, output_dir or os.path.join(cfg.OUTPUT_DIR, "inference")
    )

"""Evaluator dispatch: which evaluators score a model on a dataset.

The choice depends on two facts only: the dataset's ``metadata.evaluator_type`` and whether the config
describes a scene-graph model (:func:`is_scene_graph_config`). The trainer stays model-agnostic.

=====================  =====================  ==============================================
evaluator_type          config                 evaluators
=====================  =====================  ==============================================
``"coco"``              any                    COCO box AP (``COCOEvaluator``)
``"ag_relation"``       detector               COCO box AP on the frames' person/object boxes
``"ag_relation"``       scene graph            ``ActionGenomeRelationEvaluator`` (every
                                               protocol of ``TEST.RELATION.CONSTRAINTS``)
                                               + COCO box AP when the mode detects boxes
``"charades"``          any                    ``CharadesEvaluator``
=====================  =====================  ==============================================
"""
import logging
import os
from typing import List, Optional

from detectron2.config import CfgNode
from detectron2.data import MetadataCatalog
from detectron2.evaluation import COCOEvaluator, DatasetEvaluator, DatasetEvaluators

from ..errors import ConfigError

__all__ = ["SCENE_GRAPH_META_ARCHITECTURES", "is_scene_graph_config", "build_ag_evaluator"]

logger = logging.getLogger(__name__)

# Meta-architectures whose outputs carry a ``relations`` field (design.md "Model output").
SCENE_GRAPH_META_ARCHITECTURES = frozenset({"SceneGraphRCNN"})


def is_scene_graph_config(cfg: CfgNode) -> bool:
    """True when ``cfg`` builds a scene-graph model (person→object relations), False for a detector."""
    return cfg.MODEL.META_ARCHITECTURE in SCENE_GRAPH_META_ARCHITECTURES


def _coco_evaluator(cfg: CfgNode, dataset_name: str, output_dir: str) -> COCOEvaluator:
    # use_fast_impl=False: the compiled detectron2._C COCOeval is not available in this install.
    # allow_cached_coco=False: the COCO-format ground truth is rebuilt from the dataset dicts each time
    # (cheap), so a regenerated dataset never meets a stale cache in output_dir.
    return COCOEvaluator(
        dataset_name,
        tasks=("bbox",),
        distributed=True,
        output_dir=output_dir,
        max_dets_per_image=cfg.TEST.DETECTIONS_PER_IMAGE,
        use_fast_impl=False,
        allow_cached_coco=False,
    )


def _relation_evaluator(cfg: CfgNode, dataset_name: str, output_dir: str) -> DatasetEvaluator:
    # Imported lazily: the evaluation package is only needed for scene-graph configs.
    from ..evaluation import ActionGenomeRelationEvaluator

    return ActionGenomeRelationEvaluator(dataset_name, cfg=cfg, output_dir=output_dir)


def build_ag_evaluator(
    cfg: CfgNode, dataset_name: str, output_dir: Optional[str] = None
) -> DatasetEvaluator:
    """Build the evaluator(s) for ``dataset_name`` under ``cfg`` (see the module table).

    Args:
        cfg: a frozen config.
        dataset_name: a registered dataset whose metadata has ``evaluator_type``.
        output_dir: where evaluators dump predictions; default ``cfg.OUTPUT_DIR/inference``.

    Raises:
        ConfigError: the dataset has no ``evaluator_type``, an unknown one, or a scene-graph config is
            evaluated on a dataset without relation annotations.
    """
    output_dir = output_dir or os.path.join(cfg.OUTPUT_DIR, "inference")
    metadata = MetadataCatalog.get(dataset_name)
    evaluator_type = metadata.get("evaluator_type", None)
    if evaluator_type is None:
        raise ConfigError(
            f"DATASETS.TEST: dataset {dataset_name!r} has no metadata.evaluator_type; expected one of "
            "'coco', 'ag_relation', 'charades'."
        )
    scene_graph = is_scene_graph_config(cfg)
    evaluators: List[DatasetEvaluator] = []
    if evaluator_type == "coco":
        if scene_graph:
            raise ConfigError(
                f"DATASETS.TEST: dataset {dataset_name!r} (evaluator_type 'coco') has no relation "
                f"annotations but MODEL.META_ARCHITECTURE={cfg.MODEL.META_ARCHITECTURE!r} is a "
                "scene-graph model; use a detection config or an Action Genome dataset."
            )
        evaluators.append(_coco_evaluator(cfg, dataset_name, output_dir))
    elif evaluator_type == "ag_relation":
        if scene_graph:
            evaluators.append(_relation_evaluator(cfg, dataset_name, output_dir))
            if cfg.MODEL.ROI_RELATION_HEAD.MODE == "sgdet":
                evaluators.append(_coco_evaluator(cfg, dataset_name, output_dir))
        else:
            evaluators.append(_coco_evaluator(cfg, dataset_name, output_dir))
    elif evaluator_type == "charades":
        from ..evaluation import CharadesEvaluator

        evaluators.append(CharadesEvaluator(dataset_name, cfg=cfg, output_dir=output_dir))
    else:
        raise ConfigError(
            f"DATASETS.TEST: dataset {dataset_name!r} has metadata.evaluator_type={evaluator_type!r}; "
            "expected one of 'coco', 'ag_relation', 'charades'."
        )
    return evaluators[0] if len(evaluators) == 1 else DatasetEvaluators(evaluators)

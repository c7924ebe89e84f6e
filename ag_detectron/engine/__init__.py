"""Training/evaluation engine: the ``Trainer`` and the evaluator dispatch used by ``tools/train_net.py``."""
from .evaluators import SCENE_GRAPH_META_ARCHITECTURES, build_ag_evaluator, is_scene_graph_config
from .launch import launch
from .mappers import DetectionDatasetMapper, build_ag_mapper
from .trainer import Trainer, check_relation_annotations

__all__ = [
    "SCENE_GRAPH_META_ARCHITECTURES",
    "DetectionDatasetMapper",
    "Trainer",
    "build_ag_evaluator",
    "build_ag_mapper",
    "check_relation_annotations",
    "is_scene_graph_config",
    "launch",
]

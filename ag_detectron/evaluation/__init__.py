"""Scene-graph recall (Action Genome) and Charades mAP: pure metric functions and evaluators.

Metrics are pure NumPy functions (``relation_metrics``, ``charades_metrics``); the evaluator
classes only collect records and call them. See docs/evaluation.md.
"""

from .charades_evaluation import CharadesEvaluator
from .charades_metrics import (
    MAPResult,
    aggregate_views,
    charades_map,
    grouped_average_precision,
    official_map,
    per_item_average_precision,
    sklearn_map,
)
from .relation_evaluation import ActionGenomeRelationEvaluator, gt_from_dataset_dict
from .relation_inputs import (
    FrameGroundTruth,
    FramePrediction,
    PackedFrames,
    frame_ground_truth,
    pack_frames,
)
from .relation_metrics import (
    CONSTRAINTS,
    DEFAULT_TOPK,
    ConstraintResult,
    evaluate_constraint,
    evaluate_relations,
    iou_plus_one,
    video_mean,
)

__all__ = [
    "ActionGenomeRelationEvaluator",
    "CharadesEvaluator",
    "CONSTRAINTS",
    "DEFAULT_TOPK",
    "ConstraintResult",
    "FrameGroundTruth",
    "FramePrediction",
    "MAPResult",
    "PackedFrames",
    "aggregate_views",
    "charades_map",
    "evaluate_constraint",
    "evaluate_relations",
    "frame_ground_truth",
    "grouped_average_precision",
    "gt_from_dataset_dict",
    "iou_plus_one",
    "official_map",
    "pack_frames",
    "per_item_average_precision",
    "sklearn_map",
    "video_mean",
]

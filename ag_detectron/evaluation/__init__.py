"""Scene-graph recall (Action Genome) and Charades mAP: pure metric functions and evaluators."""
from .relation_inputs import FrameGroundTruth, FramePrediction, frame_ground_truth, pack_frames
from .relation_metrics import (
    CONSTRAINTS,
    DEFAULT_TOPK,
    ConstraintResult,
    evaluate_constraint,
    evaluate_relations,
    iou_plus_one,
    video_mean,
)

__all__ = [k for k in globals().keys() if not k.startswith("_")]

"""``add_ag_config(cfg)``: the only place where ag_detectron's config keys are created.

Each sub-function owns one namespace; every key is commented with its meaning and default.
"""
from detectron2.config import CfgNode as CN

__all__ = [
    "add_ag_config",
    "add_ag_dataset_config",
    "add_relation_head_config",
    "add_relation_eval_config",
]


def add_ag_dataset_config(cfg: CN) -> None:
    """``DATASETS.AG.*``: loader-time options of the Action Genome loader (ag_format.md §7)."""
    _C = cfg
    _C.DATASETS.AG = CN()
    # "none": the raw release (every annotated frame with a visible object or person);
    # "sttran": the community filters (person frames, a visible object, >= 3 frames per video, and
    # for SGCls/SGDet boxes with short edge > 16 px). Explicit keys below override the preset.
    _C.DATASETS.AG.FILTER_PRESET = "none"
    # Drop invisible objects (no box, no relations). Always True in the community protocol.
    _C.DATASETS.AG.VISIBLE_ONLY = True
    # Number of predicates: 26 (release) or 25 (paper; drops other_relationship).
    _C.DATASETS.AG.NUM_PREDICATES = 26


def add_relation_head_config(cfg: CN) -> None:
    """``MODEL.ROI_RELATION_HEAD.*``: the person→object relation head (methods.md §2)."""
    _C = cfg
    _C.MODEL.ROI_RELATION_HEAD = CN()
    # Registered name in ROI_RELATION_HEAD_REGISTRY.
    _C.MODEL.ROI_RELATION_HEAD.NAME = "RelDNHead"
    # One of "predcls" | "sgcls" | "sgdet" (validated once, in the meta-architecture).
    _C.MODEL.ROI_RELATION_HEAD.MODE = "predcls"
    _C.MODEL.ROI_RELATION_HEAD.NUM_ATTENTION_CLASSES = 3
    _C.MODEL.ROI_RELATION_HEAD.NUM_SPATIAL_CLASSES = 6
    _C.MODEL.ROI_RELATION_HEAD.NUM_CONTACTING_CLASSES = 17


def add_relation_eval_config(cfg: CN) -> None:
    """``TEST.RELATION.*``: scene-graph recall evaluation (evaluation_protocol.md)."""
    _C = cfg
    _C.TEST.RELATION = CN()
    # Recall cut-offs K.
    _C.TEST.RELATION.TOPK = (10, 20, 50, 100)
    # Constraints / protocols: "with", "semi", "no" (community) and "ag_paper" (the paper's Table 5).
    _C.TEST.RELATION.CONSTRAINTS = ("with", "semi", "no", "ag_paper")
    # IoU threshold (legacy +1 IoU, inclusive) on subject and object boxes.
    _C.TEST.RELATION.IOU_THRESH = 0.5
    # Threshold of the "semi" constraint (strict >).
    _C.TEST.RELATION.SEMI_THRESH = 0.9


def add_ag_config(cfg: CN) -> None:
    """Add every ag_detectron config key to a detectron2 ``cfg`` (call once, before merging files)."""
    add_ag_dataset_config(cfg)
    add_relation_head_config(cfg)
    add_relation_eval_config(cfg)

"""``add_ag_config(cfg)``: the only place where ag_detectron's config keys are created, and
``get_ag_cfg``: the one way tools, tests and downstream code load an ag_detectron config.

Each sub-function owns one namespace; every key is commented with its meaning and default. Dataset
options are not config keys: a registered dataset name binds its loader settings
(``ag_detectron/data/datasets/builtin.py``; ``register_action_genome`` for other settings).
"""

from typing import Optional, Sequence

from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg

from .errors import ConfigError

__all__ = [
    "add_ag_config",
    "get_ag_cfg",
    "add_relation_head_config",
    "add_relation_eval_config",
    "add_charades_eval_config",
    "add_solver_config",
    "add_dataloader_config",
    "add_clip_input_config",
    "add_video_model_config",
]


def add_relation_head_config(cfg: CN) -> None:
    """``MODEL.ROI_RELATION_HEAD.*``: the person→object relation head (docs/model.md)."""
    _C = cfg
    _C.MODEL.ROI_RELATION_HEAD = CN()
    # Registered name in ROI_RELATION_HEAD_REGISTRY: "RelDNHead" or "FrequencyPriorHead".
    _C.MODEL.ROI_RELATION_HEAD.NAME = "RelDNHead"
    # One of "predcls" | "sgcls" | "sgdet", any case ("SGDet"); parsed by RelationMode.parse.
    _C.MODEL.ROI_RELATION_HEAD.MODE = "predcls"
    # Predicate vocabulary of the model: 26 (the release) or 25 (the paper: other_relationship
    # removed). Group widths follow from it (ag_detectron.vocabulary); the model checks it against
    # the metadata of every registered dataset in DATASETS.TRAIN / DATASETS.TEST (ConfigError).
    _C.MODEL.ROI_RELATION_HEAD.NUM_PREDICATES = 26
    # Detector feature maps pooled for subject/object/union boxes;
    # empty = MODEL.ROI_HEADS.IN_FEATURES.
    _C.MODEL.ROI_RELATION_HEAD.IN_FEATURES = []
    # RoIAlign of the S/O/union branches; 0 / "" = the detector's MODEL.ROI_BOX_HEAD value.
    _C.MODEL.ROI_RELATION_HEAD.POOLER_RESOLUTION = 0
    _C.MODEL.ROI_RELATION_HEAD.POOLER_SAMPLING_RATIO = 0
    _C.MODEL.ROI_RELATION_HEAD.POOLER_TYPE = ""
    # Freeze the detector (backbone, RPN, box head/predictor): eval mode, no grad; only the relation
    # head trains. False: the backbone is also trained by the relation losses (no detector losses).
    _C.MODEL.ROI_RELATION_HEAD.FREEZE_DETECTOR = True
    # Training only, FREEZE_DETECTOR=True only: remember the frozen backbone's feature maps of each
    # training image (keyed by a hash of the preprocessed tensor, so flips/resizes are separate
    # entries) up to this many MiB per process, stored as FEATURE_CACHE_DTYPE ("float16" |
    # "bfloat16" | "float32"). 0 = off. Pays off on CPUs, where the backbone is most of a relation
    # iteration (docs/model.md "Feature cache").
    _C.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB = 0
    _C.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_DTYPE = "float16"
    # PredCls/SGCls training augmentation: move each ground-truth box edge by N(0, this) x the box's
    # width/height before pooling and spatial features (0 = off; detections in sgdet are not
    # jittered).
    _C.MODEL.ROI_RELATION_HEAD.TRAIN_BOX_JITTER = 0.0
    # sgcls/sgdet need a trained detector in MODEL.WEIGHTS; True allows a random one (tests only).
    _C.MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR = False
    # When a checkpoint has detector weights but no relation-head weights, initialise the S/O/union
    # branches from the detector's box head (roi_heads.box_head or roi_heads.res5), as RelDN does.
    _C.MODEL.ROI_RELATION_HEAD.INIT_FROM_BOX_HEAD = True
    # Training pairs per image at most (positives first, up to POSITIVE_FRACTION); matters in sgdet.
    _C.MODEL.ROI_RELATION_HEAD.BATCH_SIZE_PER_IMAGE = 64
    _C.MODEL.ROI_RELATION_HEAD.POSITIVE_FRACTION = 0.5
    # Spatial/contacting loss: "bce" (BCE-with-logits on multi-hot targets) or "margin"
    # (MultiLabelMarginLoss on sigmoid probabilities, STTran parity). Attention is always CE.
    _C.MODEL.ROI_RELATION_HEAD.LOSS_TYPE = "bce"
    # JSON file written by tools/compute_predicate_stats.py (training-split counts) that initialises
    # the frequency table. Needed to train, not to run a trained checkpoint (the learned table is in
    # MODEL.WEIGHTS): when empty or absent the table starts from zeros (warning), and training
    # raises ConfigError unless a checkpoint filled it (FrequencyPriorHead always; RelDNHead when a
    # path is set but absent; RelDNHead with an empty key trains from zeros).
    _C.MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE = ""
    # The frequency table is a learnable parameter (False: a fixed buffer).
    _C.MODEL.ROI_RELATION_HEAD.FREQ_TRAINABLE = True
    # sgcls: index the table with the predicted class distribution (dist @ table) instead of argmax.
    _C.MODEL.ROI_RELATION_HEAD.FREQ_SOFT = False
    # sgdet: number of top-scoring person detections used as subjects.
    _C.MODEL.ROI_RELATION_HEAD.NUM_PERSONS = 1
    # sgdet training: IoU for a detection to take a GT box's class and relations.
    _C.MODEL.ROI_RELATION_HEAD.MATCH_IOU_THRESH = 0.5
    # sgdet training: add GT boxes (person and objects) no detection matched (STTran "SUPPLY").
    _C.MODEL.ROI_RELATION_HEAD.SUPPLY_GT = False
    # sgdet training: weight of loss_rel_related (BCE of the binary "related" logit on all pairs).
    _C.MODEL.ROI_RELATION_HEAD.RELATED_LOSS_WEIGHT = 1.0
    # Inference: multiply sigmoid(related) into every predicate probability (off = STTran protocol).
    _C.MODEL.ROI_RELATION_HEAD.USE_RELATED_SCORE = False

    _C.MODEL.ROI_RELATION_HEAD.RELDN = CN()
    # Branches of logits_g = vis_g + sbj_g + obj_g + spt_g + freq_g (ablations switch them off).
    _C.MODEL.ROI_RELATION_HEAD.RELDN.USE_VISUAL = True  # vis, sbj, obj (RoI features)
    _C.MODEL.ROI_RELATION_HEAD.RELDN.USE_SPATIAL = True  # 28-d box-pair feature MLP
    _C.MODEL.ROI_RELATION_HEAD.RELDN.USE_FREQ = True  # frequency table indexed by object class
    # Hidden width of the spatial MLP (28 -> H -> H -> logits).
    _C.MODEL.ROI_RELATION_HEAD.RELDN.SPATIAL_HIDDEN_DIM = 64
    # Graphical contrastive losses L1/L2/L3 (sgdet training only; docs/model.md).
    _C.MODEL.ROI_RELATION_HEAD.RELDN.CONTRASTIVE_LOSS = False
    _C.MODEL.ROI_RELATION_HEAD.RELDN.CONTRASTIVE_WEIGHTS = (1.0, 0.5, 0.1)  # lambda_1..3
    _C.MODEL.ROI_RELATION_HEAD.RELDN.CONTRASTIVE_MARGINS = (0.2, 0.2, 0.2)  # alpha_1..3


def add_relation_eval_config(cfg: CN) -> None:
    """``TEST.RELATION.*``: scene-graph recall evaluation (docs/evaluation.md)."""
    _C = cfg
    _C.TEST.RELATION = CN()
    # Recall cut-offs K.
    _C.TEST.RELATION.TOPK = (10, 20, 50, 100)
    # Constraints / protocols: "with", "semi", "no" (community) and "ag_paper" (the paper's
    # Table 5).
    _C.TEST.RELATION.CONSTRAINTS = ("with", "semi", "no", "ag_paper")
    # IoU threshold (legacy +1 IoU, inclusive) on subject and object boxes.
    _C.TEST.RELATION.IOU_THRESH = 0.5
    # Threshold of the "semi" constraint (strict >).
    _C.TEST.RELATION.SEMI_THRESH = 0.9


def add_charades_eval_config(cfg: CN) -> None:
    """``TEST.CHARADES.*``: Charades video-level mAP (docs/evaluation.md)."""
    _C = cfg
    _C.TEST.CHARADES = CN()
    # How the views/clips of one video are combined before scoring: "max" (SlowFast/LFB) or "mean".
    _C.TEST.CHARADES.AGGREGATION = "max"
    # Draw the per-class AP bar chart (charades_per_class_ap.png) beside charades_results.json;
    # ~2 s of matplotlib per evaluation (the demo's many short head runs turn it off).
    _C.TEST.CHARADES.SAVE_PLOT = True


def add_solver_config(cfg: CN) -> None:
    """``SOLVER.OPTIMIZER``: which optimizer ``Trainer.build_optimizer`` creates.

    See docs/engine.md.
    """
    _C = cfg
    # "SGD" (Detectron2's default: momentum SOLVER.MOMENTUM, nesterov SOLVER.NESTEROV) or "ADAMW"
    # (torch.optim.AdamW, betas (0.9, 0.999)). Both use SOLVER.BASE_LR, the weight-decay keys
    # (SOLVER.WEIGHT_DECAY, WEIGHT_DECAY_NORM, ...) and SOLVER.CLIP_GRADIENTS.
    _C.SOLVER.OPTIMIZER = "SGD"


def add_dataloader_config(cfg: CN) -> None:
    """``DATALOADER.SHARING_STRATEGY``: how data-loader workers hand tensors to the trainer."""
    _C = cfg
    # torch.multiprocessing sharing strategy set when the trainer builds its loaders: "" keeps
    # PyTorch's default ("file_descriptor" on Linux: one socket round trip per tensor, ~55 per
    # batch of 8 AG frames), "file_system" passes shared-memory file names instead (7.0 -> 3.8 ms of
    # trainer CPU per batch and 0.038 -> 0.025 s/batch loader throughput on the synthetic world,
    # docs/engine.md). The setting is process-wide.
    _C.DATALOADER.SHARING_STRATEGY = ""


def add_clip_input_config(cfg: CN) -> None:
    """``INPUT.CLIP.*`` / ``TEST.CLIP.*``: Charades clips for video models (docs/video.md)."""
    _C = cfg
    _C.INPUT.CLIP = CN()
    # Frames per clip (T) and the stride between them in 24-fps Charades frames: SlowFast 64x2 is
    # NUM_FRAMES 64, SAMPLING_RATE 2; LFB's I3D 32x4 is 32, 4.
    _C.INPUT.CLIP.NUM_FRAMES = 8
    _C.INPUT.CLIP.SAMPLING_RATE = 8
    # Where clip frames come from: "frames" (the 24-fps JPEG folders Charades_v1_rgb/<id>/) or
    # "video" (video files, decoded with PyAV and put on the 24-fps timeline by time).
    _C.INPUT.CLIP.SOURCE = "frames"
    # Directory of <id>.mp4 for SOURCE "video"; "" = each video dict's "video_file"
    # (<charades root>/Charades_v1_480/<id>.mp4).
    _C.INPUT.CLIP.VIDEO_DIR = ""
    # Training scale jitter: the short side is resized to a size drawn from [min, max] (pixels);
    # LFB uses (256, 320), SlowFast's Charades recipe (256, 340).
    _C.INPUT.CLIP.TRAIN_JITTER_SCALES = (256, 320)
    # Draw the jitter size as 1 / U(1/max, 1/min) (SlowFast's DATA.INV_UNIFORM_SAMPLE, set in its
    # Charades recipe) instead of U(min, max).
    _C.INPUT.CLIP.TRAIN_JITTER_INVERSE_UNIFORM = False
    # Side of the square random training crop, taken after the scale jitter.
    _C.INPUT.CLIP.TRAIN_CROP_SIZE = 224
    # Flip each training clip horizontally with probability 0.5.
    _C.INPUT.CLIP.RANDOM_FLIP = True
    # Test: the short side is resized to this size and square crops of this size are taken
    # (TEST.CLIP.NUM_SPATIAL_CROPS of them along the long side); SlowFast and LFB use 256.
    _C.INPUT.CLIP.TEST_CROP_SIZE = 256
    # Directory of SlowFast / LFB Charades frame lists (train.csv for the "train" split, val.csv
    # for "test"): frames and training-clip labels then come from the lists (0-based labels per
    # frame) instead of the CSV's segments; videos absent from a list are left out. "" = not used.
    _C.INPUT.CLIP.FRAME_LIST_DIR = ""
    # Root the frame lists' relative paths start from; "" = <dataset root>/Charades_v1_rgb.
    _C.INPUT.CLIP.FRAME_LIST_PATH_PREFIX = ""
    _C.TEST.CLIP = CN()
    # Temporal views per test video, evenly spaced from the first to the last clip that fits
    # (SlowFast and LFB: 10).
    _C.TEST.CLIP.NUM_ENSEMBLE_VIEWS = 10
    # Spatial crops per temporal view: 1 (centre) or 3 (left/centre/right, or top/centre/bottom for
    # portrait frames). A test video gives NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS views.
    _C.TEST.CLIP.NUM_SPATIAL_CROPS = 3
    # Views per test batch (each view is one item of the test loader).
    _C.TEST.CLIP.BATCH_SIZE = 8
    # Keep Charades videos without any action in the clip loaders (train and test). False (default)
    # leaves them out, as the SlowFast / LFB frame lists do (7,811 train / 1,814 test real videos).
    _C.DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS = False


def add_video_model_config(cfg: CN) -> None:
    """``MODEL.VIDEO.*``: clip backbones and the clip classifier (docs/video.md)."""
    _C = cfg
    _C.MODEL.VIDEO = CN()
    # Registered name in VIDEO_BACKBONE_REGISTRY: "SlowFast" or "I3D" (ag_detectron.modeling.video).
    _C.MODEL.VIDEO.BACKBONE = "SlowFast"
    # ResNet depth of the backbone: 50 or 101.
    _C.MODEL.VIDEO.DEPTH = 50
    # Stem channels (slow pathway for SlowFast). 64 = the published models (pooled feature 2304-d
    # for SlowFast, 2048-d for I3D); 16 = the slim CPU variant (576-d SlowFast, ~2 M parameters).
    _C.MODEL.VIDEO.STEM_WIDTH = 64
    _C.MODEL.VIDEO.SLOWFAST = CN()
    # Frame-rate ratio fast/slow: the slow pathway takes every ALPHA-th input frame.
    _C.MODEL.VIDEO.SLOWFAST.ALPHA = 4
    # Channel ratio slow/fast (1 / beta): the fast pathway has 1/8 of the slow pathway's channels.
    _C.MODEL.VIDEO.SLOWFAST.BETA_INV = 8
    # Output channels of the fast-to-slow lateral convolution relative to its input channels.
    _C.MODEL.VIDEO.SLOWFAST.FUSION_CONV_CHANNEL_RATIO = 2
    # Temporal kernel of the lateral convolution (stride ALPHA); 7 for the 8x8 / 16x8 models.
    _C.MODEL.VIDEO.SLOWFAST.FUSION_KERNEL_SIZE = 7
    _C.MODEL.VIDEO.NONLOCAL = CN()
    # I3D only: for res2, res3, res4, res5 the indices of the residual blocks followed by a
    # non-local block; all empty = plain I3D. LFB's R101: [[], [1, 3], [6, 13, 20], []].
    _C.MODEL.VIDEO.NONLOCAL.LOCATION = [[], [], [], []]
    # Max-pool kernel (T, H, W) applied to the keys/values (phi, g) of each non-local block.
    _C.MODEL.VIDEO.NONLOCAL.POOL = [1, 2, 2]
    # Affinity normalisation of the non-local blocks: "softmax" or "dot_product".
    _C.MODEL.VIDEO.NONLOCAL.INSTANTIATION = "softmax"
    # Number of action classes of the classifier (157 for Charades); checked against the metadata
    # num_classes of every dataset in DATASETS.TRAIN / DATASETS.TEST.
    _C.MODEL.VIDEO.NUM_CLASSES = 157
    # Per-channel RGB mean / std in the 0-255 scale used to normalise the uint8 clips (Kinetics
    # convention of SlowFast / PyTorchVideo: 0.45 and 0.225 times 255).
    _C.MODEL.VIDEO.PIXEL_MEAN = [114.75, 114.75, 114.75]
    _C.MODEL.VIDEO.PIXEL_STD = [57.375, 57.375, 57.375]
    # Dropout on the pooled clip feature before the classifier (SlowFast 0.5, LFB 0.3).
    _C.MODEL.VIDEO.DROPOUT = 0.5
    # Standard deviation of the classifier's normal initialisation (bias 0).
    _C.MODEL.VIDEO.HEAD_INIT_STD = 0.01
    # Freeze the backbone: no gradients, BatchNorm kept in eval mode; only the classifier trains
    # (the feature-bank models' stage 2 trains on top of a frozen clip backbone).
    _C.MODEL.VIDEO.FREEZE_BACKBONE = False
    # MODEL.WEIGHTS that do not fit the model (missing / unexpected keys, shape mismatches, another
    # architecture) raise CheckpointError listing the keys; False logs the same report and loads the
    # tensors that fit. A classifier of another class count (e.g. Kinetics-400) is always skipped
    # with a warning (docs/video.md "Checkpoints").
    _C.MODEL.VIDEO.WEIGHTS_STRICT = True


def add_sgfb_config(cfg: CN) -> None:
    """``MODEL.SGFB.*``: the feature-bank action models SGFB / LFB / oracle (docs/feature_bank.md
    "Model")."""
    _C = cfg
    _C.MODEL.SGFB = CN()
    # Consolidated feature-bank directory (holds index.json); read by the data loader (window per
    # clip) and by the model (entry width, provenance). "" needs MODEL.SGFB.BANK_DIM > 0 (tests).
    _C.MODEL.SGFB.BANK_DIR = ""
    # Producer kind the bank must declare in its provenance: "scene_graph" (SGFB), "lfb" (LFB
    # baseline) or "oracle" (ground-truth scene graphs; an upper bound that leaks labels).
    _C.MODEL.SGFB.BANK_KIND = "scene_graph"
    # Predicates of a "scene_graph" / "oracle" bank (26 release, 25 paper): the bank's vocabulary
    # must equal Action Genome's 35 objects x this many predicates, object-major.
    _C.MODEL.SGFB.BANK_NUM_PREDICATES = 26
    # Entry width D. 0: taken from the bank; > 0: required of the bank (and used without a bank).
    _C.MODEL.SGFB.BANK_DIM = 0
    # A clip whose video is not in the bank: "error" (the loader refuses the dataset up front,
    # naming the videos) or "zero" (an all-padding window; counted, one summary warning).
    _C.MODEL.SGFB.BANK_MISSING = "error"
    _C.MODEL.SGFB.WINDOW = CN()
    # Rows W of the padded window of bank entries around the clip centre (LFB: 20).
    _C.MODEL.SGFB.WINDOW.SIZE = 20
    # Seconds covered by the window, centred on the clip (LFB: 10.0 = +-5 s; 20 entries at 2/s).
    _C.MODEL.SGFB.WINDOW.SPAN = 10.0
    # "end": entries in time order then zero rows; "slot": row = fixed time offset from the centre.
    _C.MODEL.SGFB.WINDOW.PADDING = "end"
    # More entries than SIZE in the span: "nearest" keeps the SIZE nearest the centre (counted);
    # "error" raises.
    _C.MODEL.SGFB.WINDOW.OVERFLOW = "nearest"
    # Clip centre outside [0, bank duration]: "error" (names bank and video) or "clamp" (counted).
    _C.MODEL.SGFB.WINDOW.OUTSIDE = "error"
    _C.MODEL.SGFB.FBO = CN()
    # Feature-bank operator: "avg", "max", "nl" (LFB's non-local FBO) or a FBO_REGISTRY class name.
    _C.MODEL.SGFB.FBO.NAME = "nl"
    # avg: divide by the window size W instead of the number of real entries.
    _C.MODEL.SGFB.FBO.AVG_INCLUDE_PADDING = False
    # nl: width of the projected clip feature and entries (LFB: 512); the FBO output width.
    _C.MODEL.SGFB.FBO.NL_DIM = 512
    # nl: stacked non-local blocks (LFB Charades: 2).
    _C.MODEL.SGFB.FBO.NL_LAYERS = 2
    # nl: dropout on the projections and on each block's output (LFB: 0.2).
    _C.MODEL.SGFB.FBO.NL_DROPOUT = 0.2
    # nl: LayerNorm on each block's output before its dropout (LFB: True).
    _C.MODEL.SGFB.FBO.NL_LAYER_NORM = True
    # No gradients into the clip backbone, BatchNorm in eval mode (LFB stage 2). False fine-tunes
    # it (MODEL.VIDEO.FREEZE_BACKBONE is not read by SGFB).
    _C.MODEL.SGFB.FREEZE_BACKBONE = True
    # Dropout on concat(S, FBO) before the classifier (LFB: 0.3).
    _C.MODEL.SGFB.DROPOUT = 0.3
    # Precomputed clip features (docs/feature_bank.md "Precomputed clip features"): a bank of kind
    # "lfb" written by tools/extract_feature_bank.py from this model's own frozen backbone
    # (MODEL.WEIGHTS). S is then read from the bank entry nearest the clip centre instead of
    # decoding the clip and running the backbone: needs FREEZE_BACKBONE; no spatial augmentation
    # (the entries are centre crops at INPUT.CLIP.TEST_CROP_SIZE); the bank's backbone hash must
    # equal the loaded backbone's. "" = compute S from the clip (default).
    _C.MODEL.SGFB.CLIP_FEATURE_BANK = ""


def add_ag_config(cfg: CN) -> None:
    """Add every ag_detectron config key to a detectron2 ``cfg``.

    Call once, before merging config files.
    """
    add_relation_head_config(cfg)
    add_relation_eval_config(cfg)
    add_charades_eval_config(cfg)
    add_solver_config(cfg)
    add_dataloader_config(cfg)
    add_clip_input_config(cfg)
    add_video_model_config(cfg)
    add_sgfb_config(cfg)


def get_ag_cfg(
    config_file: Optional[str] = None, opts: Sequence[str] = (), freeze: bool = True
) -> CN:
    """Detectron2's defaults + every ag_detectron key, then ``config_file`` (``_BASE_`` chains are
    followed), then ``opts`` (``["KEY", "VALUE", ...]`` as on the command line).

    A key that no defaults create (e.g. a removed one) is a ``ConfigError`` naming the key and the
    file (Detectron2's merge refuses it): a YAML or an override is never ignored quietly.

    Args:
        config_file: a YAML file, or None for the defaults only.
        opts: overrides applied after the file.
        freeze: return a frozen config (tools); False when the caller still edits it.
    """
    cfg = get_cfg()
    add_ag_config(cfg)
    try:
        if config_file:
            cfg.merge_from_file(config_file)
    except KeyError as e:  # yacs: "Non-existent config key: A.B"
        raise ConfigError(f"{config_file}: {e.args[0] if e.args else e}") from e
    try:
        cfg.merge_from_list(list(opts))
    except (KeyError, AssertionError) as e:  # yacs asserts that each overridden key exists
        raise ConfigError(f"command-line override: {e.args[0] if e.args else e}") from e
    if freeze:
        cfg.freeze()
    return cfg

"""``Trainer``: Detectron2's ``DefaultTrainer`` with Action Genome loaders and evaluators.

Differences from ``DefaultTrainer`` (nothing else is overridden):

- ``build_train_loader`` / ``build_test_loader`` use the ``RelationDatasetMapper`` for scene-graph
  configs (:func:`~ag_detectron.engine.evaluators.is_scene_graph_config`) and Detectron2's
  ``DatasetMapper`` for detectors; a scene-graph config on frames without ``relations`` is a
  ``ConfigError`` raised before training starts.
- ``build_evaluator`` dispatches on ``metadata.evaluator_type`` (:func:`build_ag_evaluator`).
- Multi-process training on CPU (gloo): ``DistributedDataParallel`` of a CPU module must get
  ``device_ids=None`` (Detectron2 passes ``[local_rank]``, which only CUDA modules accept), and
  ``find_unused_parameters=True`` because a scene-graph model leaves mode-specific branches unused.
- ``build_optimizer`` honours ``SOLVER.OPTIMIZER``: "SGD" (Detectron2's optimizer, unchanged) or
  "ADAMW" (``torch.optim.AdamW`` on the same parameter groups, with the same gradient clipping).
"""
import logging
import weakref
from typing import List

import torch

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import CfgNode
from detectron2.data import (
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.engine import AMPTrainer, DefaultTrainer, SimpleTrainer, TrainerBase
from detectron2.engine.defaults import create_ddp_model
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..errors import ConfigError
from .evaluators import build_ag_evaluator, is_scene_graph_config
from .mappers import build_ag_mapper

__all__ = ["Trainer", "check_relation_annotations"]

logger = logging.getLogger(__name__)


def check_relation_annotations(dataset_dicts: List[dict], dataset_names) -> None:
    """Raise ``ConfigError`` if any frame dict lacks the ``relations`` field (design.md).

    Args:
        dataset_dicts: frame dicts about to be fed to a scene-graph model.
        dataset_names: the dataset names they came from (for the message).
    """
    missing = [d.get("image_id", d.get("file_name", "?")) for d in dataset_dicts if "relations" not in d]
    if missing:
        raise ConfigError(
            f"DATASETS: {len(missing)} of {len(dataset_dicts)} frames of {tuple(dataset_names)} have no "
            f"'relations' field (first: {missing[0]!r}); a scene-graph config "
            "(MODEL.META_ARCHITECTURE=SceneGraphRCNN) needs relation annotations. Use an Action Genome "
            "dataset (evaluator_type 'ag_relation') or a detection config."
        )


def apply_sharing_strategy(cfg: CfgNode) -> None:
    """Set ``torch.multiprocessing``'s sharing strategy from ``DATALOADER.SHARING_STRATEGY`` ("" = keep).

    Raises:
        ConfigError: a strategy this platform does not offer.
    """
    strategy = cfg.DATALOADER.SHARING_STRATEGY
    if not strategy:
        return
    available = torch.multiprocessing.get_all_sharing_strategies()
    if strategy not in available:
        raise ConfigError(
            f"DATALOADER.SHARING_STRATEGY={strategy!r}; this platform offers {sorted(available)}"
        )
    if torch.multiprocessing.get_sharing_strategy() != strategy:
        logger.info(f"torch.multiprocessing sharing strategy: {strategy}")
        torch.multiprocessing.set_sharing_strategy(strategy)


class Trainer(DefaultTrainer):
    """``DefaultTrainer`` for ag_detectron configs (detectors and scene-graph models alike)."""

    def __init__(self, cfg: CfgNode):
        # Same construction order as DefaultTrainer.__init__; only the DDP wrapping differs.
        TrainerBase.__init__(self)
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logger()
        cfg = DefaultTrainer.auto_scale_workers(cfg, comm.get_world_size())
        model = self.build_model(cfg)
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        ddp_kwargs = {"broadcast_buffers": False, "find_unused_parameters": True}
        if cfg.MODEL.DEVICE == "cpu":
            ddp_kwargs["device_ids"] = None
        model = create_ddp_model(model, **ddp_kwargs)
        trainer_cls = AMPTrainer if cfg.SOLVER.AMP.ENABLED else SimpleTrainer
        self._trainer = trainer_cls(model, data_loader, optimizer)
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.checkpointer = DetectionCheckpointer(model, cfg.OUTPUT_DIR, trainer=weakref.proxy(self))
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        self.register_hooks(self.build_hooks())

    @classmethod
    def build_optimizer(cls, cfg: CfgNode, model: torch.nn.Module) -> torch.optim.Optimizer:
        """The optimizer named by ``SOLVER.OPTIMIZER`` ("SGD" or "ADAMW"); ``ConfigError`` otherwise."""
        name = str(cfg.SOLVER.OPTIMIZER).upper()
        if name == "SGD":
            return DefaultTrainer.build_optimizer(cfg, model)
        if name != "ADAMW":
            raise ConfigError(f"SOLVER.OPTIMIZER: expected 'SGD' or 'ADAMW', got {cfg.SOLVER.OPTIMIZER!r}")
        params = get_default_optimizer_params(
            model,
            base_lr=cfg.SOLVER.BASE_LR,
            weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM,
            bias_lr_factor=cfg.SOLVER.BIAS_LR_FACTOR,
            weight_decay_bias=cfg.SOLVER.WEIGHT_DECAY_BIAS,
        )
        # The fused kernel (CPU and CUDA) updates all tensors in one pass: on the synthetic RelDN
        # head (1.8 M parameters, 1 CPU thread) 2.6 ms per step instead of 11 ms (docs/engine.md).
        devices = {p.device.type for group in params for p in group["params"]}
        fused = devices <= {"cpu", "cuda"}
        return maybe_add_gradient_clipping(cfg, torch.optim.AdamW)(
            params, lr=cfg.SOLVER.BASE_LR, weight_decay=cfg.SOLVER.WEIGHT_DECAY, fused=fused
        )

    @classmethod
    def build_train_loader(cls, cfg: CfgNode):
        apply_sharing_strategy(cfg)
        if not is_scene_graph_config(cfg):
            return build_detection_train_loader(cfg, mapper=build_ag_mapper(cfg, True))
        dataset = get_detection_dataset_dicts(
            cfg.DATASETS.TRAIN,
            filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
            min_keypoints=0,
            proposal_files=None,
        )
        check_relation_annotations(dataset, cfg.DATASETS.TRAIN)
        return build_detection_train_loader(cfg, mapper=build_ag_mapper(cfg, True), dataset=dataset)

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str):
        apply_sharing_strategy(cfg)
        if is_scene_graph_config(cfg):
            dataset = get_detection_dataset_dicts([dataset_name], filter_empty=False)
            check_relation_annotations(dataset, [dataset_name])
            return build_detection_test_loader(dataset, mapper=build_ag_mapper(cfg, False))
        return build_detection_test_loader(cfg, dataset_name, mapper=build_ag_mapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_folder: str = None):
        return build_ag_evaluator(cfg, dataset_name, output_folder)

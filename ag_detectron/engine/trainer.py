"""``Trainer``: Detectron2's ``DefaultTrainer`` that asks the model's task how to feed and score it.

Differences from ``DefaultTrainer`` (its ``__init__`` and training loop are used as they are):

- ``build_train_loader`` / ``build_test_loader`` / ``build_evaluator`` delegate to
  :func:`~ag_detectron.engine.tasks.task_of` (the meta-architecture's declared task), which checks
  the datasets' ``metadata.evaluator_type`` first: no meta-architecture name is tested here.
- DDP arguments: ``DefaultTrainer.__init__`` wraps the model with Detectron2's module-level
  ``create_ddp_model(model, broadcast_buffers=False)``; :meth:`Trainer.ddp_kwargs` adds
  ``device_ids=None`` for ``MODEL.DEVICE`` cpu (a CPU module accepts no device ids) and
  ``find_unused_parameters`` when the task declares that its models leave parameters unused. They
  are applied by substituting that one function while ``DefaultTrainer.__init__`` runs.
- Resume: :meth:`resume_or_load` starts the training stream at the restored iteration
  (``ag_detectron/engine/train_stream.py``), and a hook seeds the global RNGs from
  ``(SEED, iteration, rank)`` before every step, so a run killed and resumed with ``--resume``
  computes the same weights as an uninterrupted one (``docs/engine.md`` "Resume").
- ``build_optimizer`` honours ``SOLVER.OPTIMIZER``: "SGD" (Detectron2's optimizer, unchanged) or
  "ADAMW" (``torch.optim.AdamW`` on the same parameter groups, with the same gradient clipping).
"""

import contextlib
import functools
import logging
import random
import weakref
from typing import Any, Dict, Iterator, List

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.engine import DefaultTrainer, HookBase
from detectron2.engine import defaults as d2_defaults
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping
from detectron2.utils import comm

from ..checkpoint import VideoCheckpointer
from ..errors import ConfigError
from .builtin_tasks import check_relation_annotations
from .evaluators import build_ag_evaluator
from .tasks import task_of
from .train_stream import stream_seed

__all__ = ["Trainer", "SeedEachIteration", "check_relation_annotations"]

logger = logging.getLogger(__name__)


def apply_sharing_strategy(cfg: CfgNode) -> None:
    """Set ``torch.multiprocessing``'s sharing strategy from ``DATALOADER.SHARING_STRATEGY`` ("" =
    keep).

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


class SeedEachIteration(HookBase):
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and CUDA) from
    ``(trainer.run_seed, iteration, rank)`` before every step, so that the model's random draws
    (proposal sampling, pair sampling, dropout) at iteration ``i`` do not depend on whether the run
    was resumed before ``i``."""

    def before_step(self) -> None:
        s = stream_seed(self.trainer.run_seed, self.trainer.iter, comm.get_rank(), 3)
        random.seed(s)
        np.random.seed(s)
        # torch.manual_seed(s) without its lazy seeding of uninitialised accelerators, which
        # records a stack trace per call (~1.3 ms per iteration, a quarter of a small head's
        # step); a model on a GPU has initialised CUDA before the first step
        torch.random.default_generator.manual_seed(s)
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(s)


@contextlib.contextmanager
def _ddp_arguments(**kwargs: Any) -> Iterator[None]:
    """While active, Detectron2's ``create_ddp_model`` (as called by ``DefaultTrainer.__init__``)
    receives ``kwargs`` in addition to its caller's arguments."""
    original = d2_defaults.create_ddp_model
    d2_defaults.create_ddp_model = functools.partial(original, **kwargs)
    try:
        yield
    finally:
        d2_defaults.create_ddp_model = original


class Trainer(DefaultTrainer):
    """``DefaultTrainer`` for ag_detectron configs (detectors, scene-graph models, any task)."""

    def __init__(self, cfg: CfgNode):
        with _ddp_arguments(**self.ddp_kwargs(cfg)):
            super().__init__(cfg)
        stream = self._resumable_stream
        if stream is not None:
            self.run_seed = stream.seed
        else:
            self.run_seed = cfg.SEED if cfg.SEED >= 0 else comm.shared_random_seed()

    @property
    def _resumable_stream(self):
        return getattr(self._trainer.data_loader, "resumable_stream", None)

    @classmethod
    def ddp_kwargs(cls, cfg: CfgNode) -> Dict[str, Any]:
        """Extra ``DistributedDataParallel`` arguments for ``cfg`` (module docstring)."""
        kwargs: Dict[str, Any] = {"find_unused_parameters": task_of(cfg).find_unused_parameters}
        if cfg.MODEL.DEVICE == "cpu":
            kwargs["device_ids"] = None
        return kwargs

    def build_hooks(self) -> List[HookBase]:
        """Detectron2's hooks, preceded by :class:`SeedEachIteration`.

        ``DefaultTrainer.__init__`` creates a ``DetectionCheckpointer`` just before it calls this;
        it is replaced by a :class:`~ag_detectron.checkpoint.VideoCheckpointer` (a subclass that
        also reads PyTorchVideo / PySlowFast files), so that ``MODEL.WEIGHTS``, ``--resume`` and the
        periodic checkpoints all go through one checkpointer.
        """
        self.checkpointer = VideoCheckpointer(
            self.checkpointer.model, self.cfg.OUTPUT_DIR, trainer=weakref.proxy(self)
        )
        return [SeedEachIteration()] + super().build_hooks()

    def state_dict(self) -> Dict[str, Any]:
        """Detectron2's trainer state + ``run_seed`` (the seed of the data stream and the RNG
        hook)."""
        state = super().state_dict()
        state["run_seed"] = self.run_seed
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "run_seed" in state:
            self.run_seed = int(state["run_seed"])
            if self._resumable_stream is not None:
                self._resumable_stream.set_seed(self.run_seed)

    def resume_or_load(self, resume: bool = True) -> None:
        """Detectron2's resume/load, then the training stream starts at ``self.start_iter``."""
        super().resume_or_load(resume=resume)
        stream = self._resumable_stream
        if stream is not None:
            stream.set_start_iteration(self.start_iter)
        elif self.start_iter > 0:
            logger.warning(
                "Resuming at iteration %d with a training loader that has no resumable stream: the "
                "data order restarts from the beginning.",
                self.start_iter,
            )

    @classmethod
    def build_optimizer(cls, cfg: CfgNode, model: torch.nn.Module) -> torch.optim.Optimizer:
        """The optimizer named by ``SOLVER.OPTIMIZER`` ("SGD" or "ADAMW"); ``ConfigError``
        otherwise."""
        name = str(cfg.SOLVER.OPTIMIZER).upper()
        if name == "SGD":
            return DefaultTrainer.build_optimizer(cfg, model)
        if name != "ADAMW":
            raise ConfigError(
                f"SOLVER.OPTIMIZER: expected 'SGD' or 'ADAMW', got {cfg.SOLVER.OPTIMIZER!r}"
            )
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
        return task_of(cfg).build_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str):
        apply_sharing_strategy(cfg)
        return task_of(cfg).build_test_loader(cfg, dataset_name)

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_folder: str = None):
        return build_ag_evaluator(cfg, dataset_name, output_folder)

"""Training a config in one or more CPU processes, with a progress bar (used by pipeline stages)."""

import logging
import os
import sys
from typing import Any, Callable, Dict, Optional

import torch
from detectron2.config import CfgNode
from detectron2.engine import HookBase
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng
from tqdm import tqdm

__all__ = ["ProgressHook", "schedule_overrides", "train"]


class ProgressHook(HookBase):
    """A tqdm bar over the training iterations, with the latest total loss every 10 iterations."""

    def __init__(self, desc: str):
        self._desc = desc
        self._bar: Optional[tqdm] = None

    def before_train(self):
        self._bar = tqdm(
            total=self.trainer.max_iter,
            initial=self.trainer.start_iter,
            desc=self._desc,
            unit="it",
            dynamic_ncols=True,
            file=sys.stdout,
        )

    def after_step(self):
        self._bar.update(1)
        if self.trainer.iter % 10 == 0:
            loss = self.trainer.storage.history("total_loss").latest()
            self._bar.set_postfix(loss=f"{loss:.3f}")

    def after_train(self):
        self._bar.close()


def schedule_overrides(max_iter: Optional[int]) -> Dict[str, Any]:
    """Overrides that shorten a schedule to ``max_iter`` iterations (LR step at 80 %, warm-up at
    most 100 and at least 1 iteration, else a fifth); empty for None."""
    if max_iter is None:
        return {}
    return {
        "SOLVER.MAX_ITER": max_iter,
        "SOLVER.STEPS": (int(0.8 * max_iter),),
        "SOLVER.WARMUP_ITERS": min(100, max(1, max_iter // 5)),
    }


def _train_worker(
    cfg: CfgNode,
    desc: str,
    log_file: str,
    setup: Optional[Callable[[], None]],
    progress: bool = True,
) -> None:
    """One training process, one thread; rank 0 shows the progress bar.

    A spawned process (world size > 1) starts with fresh registries and logging: it logs to
    ``log_file`` (``.rank<r>`` for the others) and calls ``setup`` (e.g. dataset registration).
    """
    from ..engine import Trainer  # here, not at import: the pipeline's light modules stay light
    from .stages import setup_run_logging

    torch.set_num_threads(1)
    if comm.get_world_size() > 1:
        rank = comm.get_rank()
        setup_run_logging(
            log_file if rank == 0 else f"{log_file}.rank{rank}",
            logging.getLogger("ag_detectron.pipeline"),
        )
        if setup is not None:
            setup()
    # SEED < 0 (Detectron2's default): a random seed per process, as DefaultTrainer does
    seed_all_rng(None if cfg.SEED < 0 else cfg.SEED + comm.get_rank())
    trainer = Trainer(cfg)
    if comm.is_main_process() and progress:
        trainer.register_hooks([ProgressHook(desc)])
    trainer.resume_or_load(resume=False)
    trainer.train()


def train(
    cfg: CfgNode,
    desc: str,
    num_procs: int,
    log_file: str,
    setup: Optional[Callable[[], None]] = None,
    progress: bool = True,
) -> str:
    """Train ``cfg`` from scratch in ``num_procs`` CPU processes (gloo DDP, one thread each; the
    batch is split between them) and return the path of ``model_final.pth``.

    Every process seeds its RNGs with ``cfg.SEED + rank`` (randomly when ``cfg.SEED < 0``).
    ``setup`` must be picklable (a module-level function or a ``functools.partial`` of one):
    spawned processes call it first. ``progress`` shows a bar over the iterations.
    """
    from ..engine import launch

    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    launch(
        _train_worker,
        num_procs,
        dist_url="auto",
        cpu=True,
        args=(cfg, desc, log_file, setup, progress),
    )
    return os.path.join(cfg.OUTPUT_DIR, "model_final.pth")

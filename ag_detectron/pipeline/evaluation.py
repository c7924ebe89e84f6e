"""Evaluation jobs of a pipeline: a checkpoint on one test dataset through the engine's
``Trainer.test`` (Detectron2's ``inference_on_dataset``), optionally scored against further
datasets of the same frames in the same pass, and several jobs in parallel processes.
"""

import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import torch
from detectron2.config import CfgNode
from detectron2.evaluation import DatasetEvaluator, DatasetEvaluators
from tqdm import tqdm

__all__ = ["EvalJob", "evaluate", "run_eval_jobs"]

logger = logging.getLogger(__name__)


class _Renamed(DatasetEvaluator):
    """Forwards to ``evaluator``; prefixes its result keys with ``prefix`` and counts the frames."""

    def __init__(self, evaluator: DatasetEvaluator, prefix: str):
        self.evaluator, self.prefix, self.frames = evaluator, prefix, 0

    def reset(self) -> None:
        self.frames = 0
        self.evaluator.reset()

    def process(self, inputs, outputs) -> None:
        self.frames += len(inputs)
        self.evaluator.process(inputs, outputs)

    def evaluate(self) -> Dict[str, Any]:
        return {f"{self.prefix}{k}": v for k, v in (self.evaluator.evaluate() or {}).items()}


def evaluate(cfg: CfgNode, also: Sequence[str] = ()) -> Dict[str, Any]:
    """Load ``cfg.MODEL.WEIGHTS`` and evaluate on ``cfg.DATASETS.TEST[0]`` with ``Trainer.test``.

    Args:
        cfg: a frozen config with exactly one test dataset; evaluator outputs go under
            ``<OUTPUT_DIR>/inference/<dataset>``.
        also: further datasets of the same frames (e.g. another ground truth), scored on the same
            predictions in the same pass.

    Returns:
        ``{"results": <results on the test dataset>, "also": {dataset: results}, "seconds": float
        (inference and scoring), "frames": int}``.
    """
    from ..checkpoint import VideoCheckpointer
    from ..engine import Trainer

    if len(cfg.DATASETS.TEST) != 1:
        raise ValueError(f"DATASETS.TEST: expected one dataset, got {list(cfg.DATASETS.TEST)}")
    torch.set_num_threads(1)
    model = Trainer.build_model(cfg)
    VideoCheckpointer(model).load(cfg.MODEL.WEIGHTS)  # the Trainer's checkpointer class
    dataset = cfg.DATASETS.TEST[0]
    parts = [
        _Renamed(
            Trainer.build_evaluator(cfg, name, os.path.join(cfg.OUTPUT_DIR, "inference", name)),
            "" if name == dataset else f"{name}/",
        )
        for name in (dataset, *also)
    ]
    start = time.perf_counter()
    merged = Trainer.test(cfg, model, [DatasetEvaluators(parts)])
    seconds = time.perf_counter() - start
    results: Dict[str, Any] = {name: {} for name in (dataset, *also)}
    for key, value in merged.items():
        name, _, task = key.rpartition("/") if "/" in key else (dataset, "", key)
        results[name][task] = value
    return {
        "results": results[dataset],
        "also": {n: results[n] for n in also},
        "seconds": seconds,
        "frames": parts[0].frames,
    }


@dataclass
class EvalJob:
    """One evaluation: ``cfg`` (weights and test dataset set) and the extra ground truths.

    Attributes:
        name: result name of the main dataset's results.
        cfg: frozen config for :func:`evaluate`.
        also: result name → dataset, scored on the same predictions.
    """

    name: str
    cfg: CfgNode
    also: Dict[str, str] = field(default_factory=dict)


def _run_job(job: EvalJob) -> Tuple[str, Dict[str, Any]]:
    """A job's name and its records keyed by result name (``seconds`` 0 for the same-pass ones)."""
    ev = evaluate(job.cfg, list(job.also.values()))
    records = {
        job.name: {"results": ev["results"], "seconds": ev["seconds"], "frames": ev["frames"]}
    }
    for other, dataset in job.also.items():
        records[other] = {
            "results": ev["also"][dataset],
            "seconds": 0.0,
            "frames": ev["frames"],
            "same_pass_as": job.name,
        }
    logger.info(f"  {job.name}: {ev['frames']} frames in {ev['seconds']:.1f} s")
    return job.name, records


def run_eval_jobs(jobs: List[EvalJob], num_procs: int) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Run ``jobs`` (in the given order) in ``num_procs`` forked processes, one thread each, and
    yield ``(job name, records)`` as each finishes; in this process when ``num_procs <= 1``.

    The workers are not daemonic (``ProcessPoolExecutor``, unlike ``multiprocessing.Pool``), so
    each may start its data loader's own worker process.
    """
    workers = max(1, min(num_procs, len(jobs)))
    if workers == 1:
        for job in jobs:
            yield _run_job(job)
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        futures = [pool.submit(_run_job, job) for job in jobs]
        for future in tqdm(
            as_completed(futures),
            total=len(jobs),
            desc="evaluations",
            unit="job",
            dynamic_ncols=True,
            file=sys.stdout,
        ):
            yield future.result()
    finally:
        pool.shutdown()

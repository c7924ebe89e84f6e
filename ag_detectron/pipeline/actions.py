"""The action-recognition half of ``make demo`` (docs/feature_bank.md "Demo"): the 3D CNN alone,
the three feature banks, LFB / SGFB / SGFB Oracle heads, the few-shot table and their report.

Every run here is a plain Detectron2 config trained by :func:`~.training.train` (the same
``Trainer`` as ``tools/train_net.py``); the functions only compose configs, cache stages
(:class:`~.cache.StageCache`) and collect results. The heads use precomputed clip features
(``MODEL.SGFB.CLIP_FEATURE_BANK``): the frozen 3D CNN's S at 2 clips/s, which is also the LFB bank,
so a head trains in seconds instead of decoding and running the backbone at every step.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from detectron2.config import CfgNode

from ..config import get_ag_cfg
from .cache import StageCache, digest
from .training import schedule_overrides, train

__all__ = [
    "HEAD_METHODS",
    "CLIP_SHAPE_KEYS",
    "register_charades_splits",
    "clip_shape_overrides",
    "cfg_with",
    "charades_scores",
    "TrainJob",
    "train_jobs",
    "log_to_files_only",
    "mean_std",
    "extract_cached",
    "map_table",
    "ordering_lines",
]

logger = logging.getLogger(__name__)

#: method name -> (config of the leaf with the "max" FBO, bank description)
HEAD_METHODS: Dict[str, Tuple[str, str]] = {
    "LFB": ("configs/Synthetic/lfb_{fbo}_synth.yaml", "clip features (3D CNN, 2/s)"),
    "SGFB": ("configs/Synthetic/sgfb_{fbo}_synth.yaml", "predicted scene graphs (SGDet, 2/s)"),
    "SGFB Oracle": (
        "configs/Synthetic/sgfb_oracle_{fbo}_synth.yaml",
        "ground-truth scene graphs (leak labels)",
    ),
}

#: keys a stage-2 head must share with the clip model whose backbone it loads
CLIP_SHAPE_KEYS = (
    "MODEL.VIDEO.BACKBONE",
    "MODEL.VIDEO.DEPTH",
    "MODEL.VIDEO.STEM_WIDTH",
    "MODEL.VIDEO.NUM_CLASSES",
    "INPUT.CLIP.NUM_FRAMES",
    "INPUT.CLIP.SAMPLING_RATE",
    "INPUT.CLIP.TRAIN_JITTER_SCALES",
    "INPUT.CLIP.TRAIN_CROP_SIZE",
    "INPUT.CLIP.TEST_CROP_SIZE",
    "TEST.CLIP.NUM_ENSEMBLE_VIEWS",
    "TEST.CLIP.NUM_SPATIAL_CROPS",
)


def register_charades_splits(root: str, train: str, test: str) -> None:
    """Register the Charades files under ``root`` as ``train`` / ``test`` (names already
    registered for this root are left as they are); picklable for spawned training processes."""
    from ..data.datasets import register_charades
    from .synthetic import registered_at

    for name, split in ((train, "train"), (test, "test")):
        if not registered_at(name, root):
            register_charades(name, root, split)


def _get(cfg: CfgNode, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def clip_shape_overrides(clip_cfg: CfgNode) -> Dict[str, Any]:
    """``{key: value}`` of :data:`CLIP_SHAPE_KEYS` in ``clip_cfg``."""
    return {k: _get(clip_cfg, k) for k in CLIP_SHAPE_KEYS}


def cfg_with(config: str, overrides: Mapping[str, Any], iters: Optional[int] = None) -> CfgNode:
    """``get_ag_cfg(config)`` with ``overrides`` (key -> value) and an optional shorter
    schedule."""
    items = {**overrides, **schedule_overrides(iters)}.items()
    return get_ag_cfg(config, [x for kv in items for x in kv])


def charades_scores(output_dir: str) -> Dict[str, Any]:
    """``{"mAP", "mAP_sklearn", "ap", "ap_sklearn"}`` of the Charades evaluation a training run
    wrote (``<output_dir>/inference/charades_results.json``)."""
    with open(os.path.join(output_dir, "inference", "charades_results.json")) as f:
        res = json.load(f)
    return {
        "mAP": res["results"]["mAP"],
        "mAP_sklearn": res["results"]["mAP_sklearn"],
        "ap": res["ap"],
        "ap_sklearn": res["ap_sklearn"],
    }


@dataclass(frozen=True)
class TrainJob:
    """One cached training run for :func:`train_jobs`.

    Attributes:
        stage: its name in the stage cache (and its progress label).
        cfg: the frozen config; its final evaluation writes ``charades_results.json``.
        upstream: what else its key covers (upstream keys, ``("file", path)`` parts).
        evaluates: the run ends with a Charades evaluation (its output); else ``model_final.pth``
            is the output.
        setup: picklable callable that spawned DDP processes run first (``num_procs`` > 1).
    """

    stage: str
    cfg: CfgNode
    upstream: Tuple[Any, ...] = ()
    evaluates: bool = True
    setup: Optional[Callable[[], None]] = None

    @property
    def key(self) -> str:
        return digest(self.stage, self.cfg.dump(), *self.upstream)

    @property
    def results(self) -> str:
        return os.path.join(self.cfg.OUTPUT_DIR, "inference", "charades_results.json")

    @property
    def weights(self) -> str:
        return os.path.join(self.cfg.OUTPUT_DIR, "model_final.pth")

    @property
    def output(self) -> str:
        return self.results if self.evaluates else self.weights


def log_to_files_only() -> None:
    """Drop every logging handler that is not a file handler (root and named loggers): a forked
    worker keeps writing the run's log file but leaves the console to its parent."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        lg.handlers = [h for h in lg.handlers if isinstance(h, logging.FileHandler)]


def _run_train_job(job: TrainJob, log_file: str) -> str:
    """One job in a forked worker process (registrations inherited): one thread, no
    per-iteration progress bar, log records to the run's log file only (the parent shows one
    bar over the jobs; an error reaches it as the job's exception)."""
    import torch

    torch.set_num_threads(1)
    log_to_files_only()
    train(job.cfg, job.stage, 1, log_file, progress=False)
    return job.stage


def train_jobs(
    cache: StageCache,
    jobs: Sequence[TrainJob],
    log_file: str,
    num_procs: int = 1,
    desc: str = "runs",
    ran: Optional[List[str]] = None,
    ddp_procs: int = 1,
) -> Dict[str, Dict[str, Any]]:
    """Train every job whose stage is not cached, recording each in the cache as it finishes.

    With ``num_procs`` > 1 the jobs run that many at a time in forked processes (one thread
    each; small heads spend most of a step in Python, so two processes on two cores nearly halve
    the time); otherwise one after the other here, each in ``ddp_procs`` processes.

    Returns:
        ``{stage: charades_scores}`` of every evaluating job; stages that ran are appended to
        ``ran``.
    """
    pending = [j for j in jobs if not cache.valid(j.stage, j.key, [j.output])]
    workers = max(1, min(num_procs, len(pending)))
    done = ran if ran is not None else []
    if pending and workers == 1:
        for job in pending:
            train(job.cfg, job.stage, ddp_procs, log_file, setup=job.setup)
            cache.done(job.stage, job.key)
            done.append(job.stage)
    elif pending:
        from tqdm import tqdm

        by_stage = {j.stage: j for j in pending}
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        try:
            futures = [pool.submit(_run_train_job, j, log_file) for j in pending]
            for future in tqdm(
                as_completed(futures),
                total=len(futures),
                desc=desc,
                unit="run",
                dynamic_ncols=True,
                file=sys.stdout,
            ):
                stage = future.result()
                cache.done(stage, by_stage[stage].key)
                done.append(stage)
        finally:
            pool.shutdown()
    return {j.stage: charades_scores(j.cfg.OUTPUT_DIR) for j in jobs if j.evaluates}


def extract_cached(
    cache: StageCache,
    stage: str,
    bank_dir: str,
    key: str,
    produce: Callable[[], Optional[Counter]],
) -> str:
    """Write a bank with ``produce()`` unless ``stage`` is cached with ``key``.

    A bank directory left by another key is removed first (a resumed extraction must not mix
    producers; the writer would refuse it anyway); one left by an interrupted run of the same
    key is resumed (videos already written are skipped).
    """
    index = os.path.join(bank_dir, "index.json")
    key_file = bank_dir.rstrip("/") + ".key"
    if cache.valid(stage, key, [index]):
        return bank_dir
    previous = open(key_file).read().strip() if os.path.isfile(key_file) else None
    if previous != key and os.path.isdir(bank_dir):
        shutil.rmtree(bank_dir)
    os.makedirs(os.path.dirname(os.path.abspath(bank_dir)), exist_ok=True)
    with open(key_file, "w") as f:
        f.write(key + "\n")
    counts = produce()
    if counts:
        logger.info("  %s: %s", bank_dir, {k: v for k, v in counts.items() if k != "seconds"})
    cache.done(stage, key)
    return bank_dir


# ----------------------------------------------------------------------------- report


def _pct(v: Optional[float]) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}"


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and standard deviation (ddof = 1; 0 for a single value) of ``values``."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def map_table(
    clip: Mapping[str, Any],
    heads: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
    baselines: Mapping[str, Mapping[str, float]],
) -> str:
    """The Charades mAP table (markdown, %): the 3D CNN alone, every method x FBO as mean ± std
    over head seeds, and the label baselines.

    Args:
        clip: :func:`charades_scores` of the 3D CNN.
        heads: ``{method: {fbo: {seed: scores}}}``.
        baselines: ``{name: {"mAP", "mAP_sklearn"}}``.
    """
    lines = [
        "| model | feature bank | FBO | mAP (official) | mAP (sklearn) |",
        "|---|---|---|---|---|",
        f"| 3D CNN alone | – | – | {_pct(clip['mAP'])} | {_pct(clip['mAP_sklearn'])} |",
    ]
    for method, per_fbo in heads.items():
        for fbo, per_seed in per_fbo.items():
            cells = []
            for metric in ("mAP", "mAP_sklearn"):
                m, s = mean_std([r[metric] for r in per_seed.values()])
                cells.append(f"{100 * m:.1f} ± {100 * s:.1f}")
            bank = HEAD_METHODS[method][1] if method in HEAD_METHODS else ""
            lines.append(f"| {method} | {bank} | {fbo} | {cells[0]} | {cells[1]} |")
    for name, res in baselines.items():
        lines.append(f"| {name} | – | – | {_pct(res['mAP'])} | {_pct(res['mAP_sklearn'])} |")
    return "\n".join(lines)


def best_fbo(
    per_fbo: Mapping[str, Mapping[str, Mapping[str, float]]], metric: str = "mAP"
) -> Tuple[str, float, float]:
    """``(fbo, mean, std)`` of the FBO with the highest mean over head seeds."""
    rows = [(fbo, *mean_std([r[metric] for r in runs.values()])) for fbo, runs in per_fbo.items()]
    return max(rows, key=lambda r: r[1])


def ordering_lines(
    clip: Mapping[str, Any],
    heads: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
    few_shot: Optional[Mapping[str, Any]] = None,
) -> List[str]:
    """The orderings the paper's tables show, each with its measured margin and HOLDS / FAILS:
    SGFB > LFB > 3D CNN (best FBO each), SGFB Oracle >= SGFB, few-shot SGFB > LFB per k."""
    best = {m: best_fbo(per_fbo) for m, per_fbo in heads.items()}
    lines = []

    def line(label: str, a: float, b: float, strict: bool, spread: str) -> None:
        ok = a > b if strict else a >= b
        lines.append(
            f"- {label}: {100 * a:.1f} vs {100 * b:.1f} ({100 * (a - b):+.1f} points{spread}) "
            f"{'HOLDS' if ok else 'FAILS'}"
        )

    def spread(*methods: str) -> str:
        parts = [f"{m} ({best[m][0]}) ± {100 * best[m][2]:.1f}" for m in methods]
        return "; head seeds: " + ", ".join(parts)

    # (label, method, compared with: a method or None for the 3D CNN, strictly greater)
    for label, a, b, strict in (
        ("SGFB > LFB (best FBO each, official mAP)", "SGFB", "LFB", True),
        ("LFB > 3D CNN alone", "LFB", None, True),
        ("SGFB > 3D CNN alone", "SGFB", None, True),
        ("SGFB Oracle >= SGFB", "SGFB Oracle", "SGFB", False),
    ):
        if a in best and (b is None or b in best):
            other = clip["mAP"] if b is None else best[b][1]
            line(label, best[a][1], other, strict, spread(*([a] if b is None else [a, b])))
    if few_shot:
        table = few_shot["table"]
        for k in few_shot["shots"]:
            if "SGFB" in table and "LFB" in table:
                s, lf = table["SGFB"][str(k)], table["LFB"][str(k)]
                diffs = [
                    few_shot["runs"]["SGFB"][str(k)][seed]["mAP"]
                    - few_shot["runs"]["LFB"][str(k)][seed]["mAP"]
                    for seed in few_shot["runs"]["SGFB"][str(k)]
                ]
                wins = sum(d > 0 for d in diffs)
                line(
                    f"few-shot k={k}: SGFB > LFB (novel-class mAP, mean over seeds)",
                    s["mAP_mean"],
                    lf["mAP_mean"],
                    True,
                    f"; std over seeds {100 * s['mAP_std']:.1f} / {100 * lf['mAP_std']:.1f}; "
                    f"SGFB ahead on {wins} of {len(diffs)} seeds",
                )
    return lines

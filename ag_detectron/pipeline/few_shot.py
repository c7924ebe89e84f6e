"""The few-shot table (Action Genome paper §5.2) in one run: splits, datasets, base training,
heads, novel-class mAP, mean ± std over seeds (docs/feature_bank.md "Few-shot").

Per seed S:

1. the split ``<split_dir>/charades_fewshot_seed{S}.json``
   (:mod:`ag_detectron.feature_bank.few_shot`; drawn from the training videos and written when
   absent, loaded and checked otherwise);
2. datasets registered in Detectron2's ``DatasetCatalog`` with the source split's metadata:
   ``<train>_fewshot_s{S}_base`` (training videos without any novel label),
   ``<train>_fewshot_s{S}_k{k}`` (the k-shot videos) and ``<test>_fewshot_s{S}`` (every test
   video); each carries ``novel_classes`` in its metadata;
3. base training of the clip classifier (``base_config``) on the base videos, once per seed;
4. per k and per method: the method's head (frozen backbone from step 3, as SGFB stage 2) trained on
   the k-shot videos and evaluated on the test split.

**Class handling.** Every model keeps all C outputs: base training sees no positive of a novel
class (its videos carry none), the head is trained on the k-shot videos with all their labels, and
the evaluation ranks the test videos per class over all C columns as the Charades evaluator does,
then averages the per-class AP over the novel classes only (:func:`novel_class_map`). A novel
class's AP depends only on its own column (and, in the official variant, on which test videos carry
any label), so base-class scores never enter the number.

Every training run is a stage of :class:`~ag_detectron.pipeline.cache.StageCache`
(``<output>/stages.json``): its key covers the full config dump, the split file, the head's bank
index and the upstream key, so a rerun only trains what changed.

A method config's ``MODEL.SGFB.BANK_DIR`` may contain ``{seed}``: it is replaced by the seed, so a
bank extracted per seed (an LFB bank from that seed's base backbone, which has never seen a novel
label) is read by that seed's heads.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog

from ..config import get_ag_cfg
from ..errors import ConfigError, DatasetFormatError
from ..evaluation.charades_metrics import official_map, sklearn_map
from ..feature_bank.few_shot import (
    DEFAULT_SHOTS,
    load_few_shot_split,
    make_few_shot_split,
    validate_few_shot_split,
    write_few_shot_split,
)
from ..feature_bank.storage import INDEX_FILE
from .actions import TrainJob, mean_std, train_jobs
from .cache import StageCache
from .training import schedule_overrides

__all__ = [
    "FewShotOptions",
    "split_path",
    "ensure_split",
    "register_few_shot_datasets",
    "mean_over_classes",
    "novel_class_map",
    "summarise",
    "few_shot_markdown",
    "write_table",
    "run_few_shot",
]

logger = logging.getLogger(__name__)

DEFAULT_METHODS = {
    "LFB": "configs/Synthetic/lfb_max_synth.yaml",
    "SGFB": "configs/Synthetic/sgfb_max_synth.yaml",
    "SGFB Oracle": "configs/Synthetic/sgfb_oracle_max_synth.yaml",
}


@dataclass
class FewShotOptions:
    """What one few-shot run does.

    Attributes:
        base_config: config of the clip classifier trained on the base classes (its
            ``DATASETS.TRAIN[0]`` / ``DATASETS.TEST[0]`` are the source splits).
        method_configs: ``{method name: head config}`` (feature-bank models, stage 2).
        output: run directory (splits unless ``split_dir``, models, results, ``stages.json``).
        seeds: the split seeds S.
        shots: the k values.
        split_dir: where ``charades_fewshot_seed{S}.json`` are read / written (default
            ``output``).
        opts: overrides applied to every config (``["KEY", "VALUE", ...]``).
        base_iters / head_iters: shorten the schedules to this many iterations (None: the
            config's).
        num_procs: training processes per run.
        force: ignore the stage cache.
        base_only: stop after the base trainings (e.g. to extract a per-seed LFB bank with each
            seed's base backbone before the heads run).
        prepare_seed: called as ``prepare_seed(seed, base_weights, split)`` after a seed's base
            training and before its heads, e.g. to extract the seed's LFB bank (and clip
            features) with its base backbone into the ``{seed}`` directory the head configs name.
        head_seeds: training seeds (``SEED``) of each head; the seed's score is their mean
            (a head's initialisation and data order are part of its variance, not of the split).
        num_jobs: trainings run at once in forked processes (one thread each; ``num_procs`` is
            then ignored).
    """

    base_config: str
    method_configs: Mapping[str, str]
    output: str
    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    shots: Sequence[int] = DEFAULT_SHOTS
    split_dir: Optional[str] = None
    opts: Sequence[str] = ()
    base_iters: Optional[int] = None
    head_iters: Optional[int] = None
    num_procs: int = 1
    force: bool = False
    base_only: bool = False
    prepare_seed: Optional[Callable[[int, str, Mapping[str, Any]], None]] = None
    head_seeds: Sequence[int] = (0,)
    num_jobs: int = 1
    ran: List[str] = field(default_factory=list)  # stages trained in this run (filled by the run)


def load_split_file(path: str) -> Dict[str, Any]:
    """The JSON of a split file written by :func:`ensure_split` (no checks: it was checked when
    it was written or loaded in this run)."""
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def split_path(split_dir: str, seed: int) -> str:
    """``<split_dir>/charades_fewshot_seed{S}.json``."""
    return os.path.join(split_dir, f"charades_fewshot_seed{seed}.json")


def _class_names(dataset: str) -> Optional[List[str]]:
    return MetadataCatalog.get(dataset).get("action_classes", None)


def ensure_split(
    path: str,
    train_videos: Sequence[Mapping[str, Any]],
    seed: int,
    shots: Sequence[int],
    class_names: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """Load the split at ``path``, or draw it (k = 1, 5, 10 and ``shots``) and write it first.

    Raises:
        DatasetFormatError: the file does not fit the videos, or lacks a requested k.
    """
    num_classes = len(train_videos[0]["labels"])
    if not os.path.isfile(path):
        ks = sorted(set(DEFAULT_SHOTS) | {int(k) for k in shots})
        split = make_few_shot_split(
            train_videos, num_classes, seed, shots=ks, class_names=class_names
        )
        write_few_shot_split(split, path)
        logger.info("few-shot split seed %d written to %s", seed, path)
    split = load_few_shot_split(path, num_classes, (v["video_id"] for v in train_videos))
    if split.get("seed") != seed:
        raise DatasetFormatError(f"{path}: field 'seed' is {split.get('seed')}; expected {seed}")
    validate_few_shot_split(split, train_videos, path)
    missing = [k for k in shots if str(k) not in split["shots"]]
    if missing:
        raise DatasetFormatError(
            f"{path}: no {missing}-shot sets (has {sorted(split['shots'], key=int)}); delete the "
            f"file to draw it again with these k"
        )
    return split


def _subset(source: str, video_ids: Tuple[str, ...]) -> List[Dict[str, Any]]:
    """The dicts of ``source`` whose ``video_id`` is in ``video_ids`` (copies, source order)."""
    wanted = set(video_ids)
    dicts = [copy.deepcopy(d) for d in DatasetCatalog.get(source) if d["video_id"] in wanted]
    found = {d["video_id"] for d in dicts}
    if found != wanted:
        raise DatasetFormatError(
            f"few-shot dataset from {source!r}: videos {sorted(wanted - found)[:5]} are not in it"
        )
    return dicts


def _register(name: str, source: str, video_ids: Optional[Sequence[str]], novel: List[int]):
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    if video_ids is None:
        DatasetCatalog.register(
            name, lambda source=source: copy.deepcopy(DatasetCatalog.get(source))
        )
    else:
        DatasetCatalog.register(name, functools.partial(_subset, source, tuple(video_ids)))
    meta = {k: v for k, v in MetadataCatalog.get(source).as_dict().items() if k != "name"}
    MetadataCatalog.get(name).set(**meta, novel_classes=list(novel), few_shot_source=source)


def register_few_shot_datasets(
    train_dataset: str, test_dataset: str, split_file: str, shots: Sequence[int]
) -> Dict[str, str]:
    """Register the base, k-shot and test datasets of one split file (module docstring, step 2).

    A module-level function of picklable arguments, so spawned training processes can call it
    again (``functools.partial`` as ``setup`` of :func:`~ag_detectron.pipeline.training.train`).

    Returns:
        ``{"base": name, "k1": name, ..., "test": name}``.
    """
    with open(split_file, "r", encoding="utf-8") as f:
        split = json.load(f)
    seed, novel = split["seed"], split["novel_classes"]
    names = {
        "base": f"{train_dataset}_fewshot_s{seed}_base",
        "test": f"{test_dataset}_fewshot_s{seed}",
    }
    _register(names["base"], train_dataset, split["base_train_videos"], novel)
    for k in shots:
        names[f"k{k}"] = f"{train_dataset}_fewshot_s{seed}_k{k}"
        _register(names[f"k{k}"], train_dataset, split["shots"][str(k)]["videos"], novel)
    _register(names["test"], test_dataset, None, novel)
    return names


def mean_over_classes(ap: Sequence[Optional[float]], classes: Sequence[int]) -> float:
    """Mean of the per-class AP over ``classes``, leaving out classes without a test positive
    (AP None / NaN); NaN when none is left."""
    vals = [ap[c] for c in classes if ap[c] is not None and not np.isnan(ap[c])]
    return float(np.mean(vals)) if vals else float("nan")


def novel_class_map(
    scores: np.ndarray, labels: np.ndarray, novel_classes: Sequence[int]
) -> Dict[str, float]:
    """mAP over the novel classes of video-level scores.

    Args:
        scores: (N, C) float, one row per test video, all C classes.
        labels: (N, C) {0, 1}.
        novel_classes: the columns to average.

    Returns:
        ``{"mAP": official variant, "mAP_sklearn": sklearn variant}`` over the novel classes that
        have a positive test video.
    """
    return {
        "mAP": mean_over_classes(list(official_map(scores, labels).ap), novel_classes),
        "mAP_sklearn": mean_over_classes(list(sklearn_map(scores, labels).ap), novel_classes),
    }


def _cfg(config: str, opts: Sequence[str], extra: Sequence[str], iters: Optional[int]) -> CfgNode:
    sched = [x for kv in schedule_overrides(iters).items() for x in (kv[0], str(kv[1]))]
    return get_ag_cfg(config, [*opts, *sched, *extra])


def _bank_key(bank_dir: str) -> Any:
    """The index file of a bank (its content hash enters a head's stage key), if any."""
    index = os.path.join(bank_dir, INDEX_FILE) if bank_dir else ""
    return ("file", index) if index and os.path.isfile(index) else f"no bank index {bank_dir!r}"


def _novel_scores(results_file: str, novel: Sequence[int]) -> Dict[str, float]:
    with open(results_file) as f:
        res = json.load(f)
    return {
        "mAP": mean_over_classes(res["ap"], novel),
        "mAP_sklearn": mean_over_classes(res["ap_sklearn"], novel),
    }


def summarise(
    runs: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``{method: {k: {seed: {metric: v}}}}`` → ``{method: {k: {metric_mean, metric_std,
    num_seeds}}}``; std over seeds with ddof=1 (0 for a single seed)."""
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    for method, per_k in runs.items():
        for k, per_seed in per_k.items():
            row: Dict[str, float] = {"num_seeds": len(per_seed)}
            for metric in ("mAP", "mAP_sklearn"):
                mean, std = mean_std([s[metric] for s in per_seed.values()])
                row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
            table.setdefault(method, {})[k] = row
    return table


def few_shot_markdown(
    table: Mapping[str, Any], shots: Sequence[int], metrics: Sequence[str] = ("mAP", "mAP_sklearn")
) -> List[str]:
    """Markdown lines of the few-shot table: one section per metric, a row per method, a column
    per k, cells ``mean ± std`` in %."""
    lines: List[str] = []
    titles = {"mAP": "official", "mAP_sklearn": "sklearn"}
    for metric in metrics:
        title = titles[metric]
        lines += [f"## {metric} ({title} variant)", ""]
        lines.append("| method | " + " | ".join(f"k = {k}" for k in shots) + " |")
        lines.append("|---|" + "---|" * len(shots))
        for method, per_k in table.items():
            cells = [
                f"{100 * per_k[str(k)][f'{metric}_mean']:.1f} ± "
                f"{100 * per_k[str(k)][f'{metric}_std']:.1f}"
                for k in shots
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def write_table(table: Mapping[str, Any], results: Mapping[str, Any], output: str) -> List[str]:
    """``few_shot_results.json`` (everything) and ``few_shot_results.md`` (mean ± std, %)."""
    lines = [
        "# Few-shot action recognition (novel-class mAP, %, mean ± std over seeds "
        f"{list(results['seeds'])})",
        "",
        *few_shot_markdown(table, results["shots"]),
    ]
    md = os.path.join(output, "few_shot_results.md")
    js = os.path.join(output, "few_shot_results.json")
    with open(md, "w") as f:
        f.write("\n".join(lines))
    with open(js, "w") as f:
        json.dump({**results, "table": table}, f, indent=1, sort_keys=True)
    return [js, md]


def run_few_shot(opt: FewShotOptions) -> Dict[str, Any]:
    """Run (or reuse) every stage of the table and write it (module docstring).

    Three phases: every seed's base training, then ``prepare_seed`` per seed, then every head;
    the trainings of a phase run ``num_jobs`` at a time (:func:`~.actions.train_jobs`).

    Returns:
        ``{"seeds", "shots", "methods", "novel_classes": {seed: [...]}, "runs", "table",
        "files", "trained"}``; ``trained`` lists the training stages that ran in this call (empty
        on a cached rerun).
    """
    if not opt.method_configs:
        raise ConfigError("few-shot: no method config (--method-configs NAME=FILE ...)")
    os.makedirs(opt.output, exist_ok=True)
    split_dir = opt.split_dir or opt.output
    cache = StageCache(os.path.join(opt.output, "stages.json"), force=opt.force)
    log_file = os.path.join(opt.output, "log.txt")
    base_cfg0 = get_ag_cfg(opt.base_config, list(opt.opts))
    if not base_cfg0.DATASETS.TRAIN or not base_cfg0.DATASETS.TEST:
        raise ConfigError(f"{opt.base_config}: DATASETS.TRAIN and DATASETS.TEST must be set")
    train_ds, test_ds = base_cfg0.DATASETS.TRAIN[0], base_cfg0.DATASETS.TEST[0]
    train_videos = DatasetCatalog.get(train_ds)
    method_cfgs = {m: get_ag_cfg(c, list(opt.opts)) for m, c in opt.method_configs.items()}
    bank_dirs = {m: c.MODEL.SGFB.BANK_DIR for m, c in method_cfgs.items()}
    clip_banks = {m: c.MODEL.SGFB.CLIP_FEATURE_BANK for m, c in method_cfgs.items()}
    base_by_seed: Dict[str, str] = {}
    novel_by_seed: Dict[str, List[int]] = {}
    seeds: Dict[int, Dict[str, Any]] = {}
    # phase 1: splits, datasets, base trainings
    base_jobs = []
    for seed in opt.seeds:
        path = split_path(split_dir, seed)
        split = ensure_split(path, train_videos, seed, opt.shots, _class_names(train_ds))
        novel_by_seed[str(seed)] = split["novel_classes"]
        names = register_few_shot_datasets(train_ds, test_ds, path, opt.shots)
        base_dir = os.path.join(opt.output, f"seed{seed}", "base")
        base_cfg = _cfg(
            opt.base_config,
            opt.opts,
            ["DATASETS.TRAIN", f"('{names['base']}',)", "DATASETS.TEST", "()"]
            + ["OUTPUT_DIR", base_dir],
            opt.base_iters,
        )
        setup = functools.partial(register_few_shot_datasets, train_ds, test_ds, path, opt.shots)
        job = TrainJob(f"seed{seed}/base", base_cfg, (("file", path),), False, setup)
        base_jobs.append(job)
        base_by_seed[str(seed)] = job.weights
        seeds[seed] = {"split": split, "names": names, "base": job, "setup": setup}
    run = functools.partial(
        train_jobs,
        cache,
        log_file=log_file,
        num_procs=opt.num_jobs,
        ran=opt.ran,
        ddp_procs=opt.num_procs,
    )
    run(base_jobs, desc="base")
    if opt.base_only:
        return {"base_weights": base_by_seed, "trained": list(opt.ran), "files": []}
    # phase 2: per-seed preparation (e.g. the seed's LFB bank from its base backbone)
    if opt.prepare_seed is not None:
        for seed in opt.seeds:
            opt.prepare_seed(seed, seeds[seed]["base"].weights, seeds[seed]["split"])
    # phase 3: every head of every seed
    head_jobs: Dict[Tuple[int, int, str], List[TrainJob]] = {}
    for seed in opt.seeds:
        names, base = seeds[seed]["names"], seeds[seed]["base"]
        for k in opt.shots:
            for method, config in opt.method_configs.items():
                bank_dir = bank_dirs[method].replace("{seed}", str(seed))
                clip_bank = clip_banks[method].replace("{seed}", str(seed))
                for head_seed in opt.head_seeds:
                    out = os.path.join(opt.output, f"seed{seed}", f"k{k}", method.replace(" ", "_"))
                    stage = f"seed{seed}/k{k}/{method}"
                    if len(opt.head_seeds) > 1:
                        out, stage = f"{out}_h{head_seed}", f"{stage}/h{head_seed}"
                    cfg = _cfg(
                        config,
                        opt.opts,
                        ["DATASETS.TRAIN", f"('{names[f'k{k}']}',)"]
                        + ["DATASETS.TEST", f"('{names['test']}',)"]
                        + ["MODEL.WEIGHTS", base.weights, "MODEL.SGFB.FREEZE_BACKBONE", "True"]
                        + ["MODEL.SGFB.BANK_DIR", bank_dir]
                        + ["MODEL.SGFB.CLIP_FEATURE_BANK", clip_bank]
                        + ["SEED", str(head_seed), "OUTPUT_DIR", out],
                        opt.head_iters,
                    )
                    upstream = (base.key, _bank_key(bank_dir), _bank_key(clip_bank))
                    job = TrainJob(stage, cfg, upstream, True, seeds[seed]["setup"])
                    head_jobs.setdefault((seed, k, method), []).append(job)
    all_heads = [j for jobs in head_jobs.values() for j in jobs]
    run(all_heads, desc="heads")
    runs: Dict[str, Dict[str, Dict[str, Dict[str, float]]]] = {}
    for (seed, k, method), jobs in head_jobs.items():
        novel = novel_by_seed[str(seed)]
        per_head = [_novel_scores(j.results, novel) for j in jobs]
        scores = {m: float(np.mean([h[m] for h in per_head])) for m in per_head[0]}
        runs.setdefault(method, {}).setdefault(str(k), {})[str(seed)] = scores
        logger.info(
            "few-shot seed %d k=%d %s: novel mAP %.2f (sklearn %.2f)",
            seed,
            k,
            method,
            100 * scores["mAP"],
            100 * scores["mAP_sklearn"],
        )
    table = summarise(runs)
    results = {
        "seeds": list(opt.seeds),
        "shots": [int(k) for k in opt.shots],
        "methods": dict(opt.method_configs),
        "base_config": opt.base_config,
        "novel_classes": novel_by_seed,
        "base_weights": base_by_seed,
        "class_handling": "all C outputs trained; per-class AP averaged over the novel classes",
        "head_seeds": [int(h) for h in opt.head_seeds],
        "runs": runs,
    }
    files = write_table(table, results, opt.output)
    return {**results, "table": table, "files": files, "trained": list(opt.ran)}

#!/usr/bin/env python
"""``make demo``: the whole pipeline on the synthetic Action Genome world, on a CPU, in minutes.

Stages (each one is reused when its outputs exist and its inputs did not change, unless ``--force``):

1. data      generate the synthetic dataset (``ag_detectron.data.synthetic.generate``), skip if complete
2. stats     predicate counts of the training split (the frequency prior's table)
3. detector  train Faster R-CNN from scratch            (configs/Synthetic/faster_rcnn_*_synth.yaml)
4. reldn     train the RelDN head on the frozen detector (configs/Synthetic/reldn_*_predcls_synth.yaml)
5. evaluate  detection AP (AG annotations; every drawn object boxed; the AP ceiling of a perfect
             detector blind to which objects are involved); RelDN and the frequency prior in PredCls /
             SGCls / SGDet (community with/no constraint, AG-paper protocol, mean recall)
6. report    one results table (stdout, output/demo/results.md, results.json)
7. visualize predicted scene graphs of a few test frames (output/demo/vis/*.png)

The relation head is trained once (PredCls: ground-truth boxes) and evaluated in every mode; the
frequency prior is not trained (its table comes from the stats file). Logs: output/demo/log.txt.
"""
import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import CfgNode, get_cfg
from detectron2.data import DatasetCatalog
from detectron2.engine import HookBase
from detectron2.evaluation.evaluator import inference_context
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng
from tabulate import tabulate
from tqdm import tqdm

import ag_detectron.data  # noqa: F401  (registration: datasets)
import ag_detectron.modeling  # noqa: F401  (registration: meta-architectures and heads)
from ag_detectron.config import add_ag_config
from ag_detectron.data.datasets import register_action_genome
from ag_detectron.data.synthetic.drawn import context_blind_ceiling, drawn_objects, register_exhaustive
from ag_detectron.engine import Trainer, build_ag_evaluator, launch
from ag_detectron.engine.predictions import draw_predictions, scene_graph_record

logger = logging.getLogger("ag_detectron.demo")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "detector": "configs/Synthetic/faster_rcnn_R_50n_FPN_adamw_synth.yaml",
    "reldn": "configs/Synthetic/reldn_R_50n_FPN_{mode}_synth.yaml",
    "freq": "configs/Synthetic/freq_prior_R_50n_FPN_{mode}_synth.yaml",
}
MODES = ("predcls", "sgcls", "sgdet")
TRAIN, TEST = "demo_synth_train", "demo_synth_test"
TEST_ALL_DRAWN = "demo_synth_test_all_drawn"  # every drawn object boxed (ag_detectron.data.synthetic.drawn)
# Targets of issue #5 on the synthetic test split.
TARGETS = {
    "RelDN PredCls R@20 (with)": ("reldn", "predcls/with/R@20", 0.90),
    "RelDN SGDet R@20 (with)": ("reldn", "sgdet/with/R@20", 0.50),
    "Detector AP50 (AG annotations)": ("detector", "AP50", 0.80),
}


# ----------------------------------------------------------------------------- small utilities
def _digest(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts and files (``("file", path)`` tuples)."""
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, tuple) and p and p[0] == "file":
            with open(p[1], "rb") as f:
                h.update(f.read())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


# Namespaces a plain detector never reads: adding or changing their keys (e.g. a new relation-head
# option) must not invalidate a trained detector stage.
_NON_DETECTOR_NAMESPACES = (("MODEL", "ROI_RELATION_HEAD"), ("TEST", "RELATION"), ("TEST", "CHARADES"))


def _detector_cfg_dump(cfg: CfgNode) -> str:
    """``cfg.dump()`` without the namespaces in ``_NON_DETECTOR_NAMESPACES``."""
    view = cfg.clone()
    view.defrost()
    for parent, child in _NON_DETECTOR_NAMESPACES:
        view[parent].pop(child, None)
    return view.dump()


class StageCache:
    """``output/demo/stages.json``: stage name → key of the inputs its outputs were made from."""

    def __init__(self, path: str, force: bool):
        self.path, self.force = path, force
        self.keys: Dict[str, str] = {}
        if os.path.isfile(path) and not force:
            with open(path) as f:
                self.keys = json.load(f)

    def valid(self, stage: str, key: str, outputs: Sequence[str]) -> bool:
        return self.keys.get(stage) == key and all(os.path.exists(p) for p in outputs)

    def done(self, stage: str, key: str) -> None:
        self.keys[stage] = key
        with open(self.path, "w") as f:
            json.dump(self.keys, f, indent=1, sort_keys=True)


class _ProgressHook(HookBase):
    """A tqdm bar over training iterations with the current total loss."""

    def __init__(self, desc: str):
        self._desc = desc
        self._bar: Optional[tqdm] = None

    def before_train(self):
        self._bar = tqdm(total=self.trainer.max_iter, initial=self.trainer.start_iter, desc=self._desc,
                         unit="it", dynamic_ncols=True, file=sys.stdout)

    def after_step(self):
        self._bar.update(1)
        if self.trainer.iter % 10 == 0:
            loss = self.trainer.storage.history("total_loss").latest()
            self._bar.set_postfix(loss=f"{loss:.3f}")

    def after_train(self):
        self._bar.close()


def _setup_logging(log_file: str) -> None:
    """Everything at INFO to ``log_file``; the console shows warnings and the demo's own lines."""
    fmt = logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s", "%m/%d %H:%M:%S")
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(fmt)
    file_handler.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    console.setLevel(logging.WARNING)
    # Detectron2/fvcore warnings (partial checkpoints by design, ...) stay in the log file only.
    console.addFilter(lambda r: r.levelno >= logging.ERROR or r.name.startswith("ag_detectron"))
    root = logging.getLogger()
    root.handlers = [file_handler, console]
    root.setLevel(logging.INFO)
    for name in ("detectron2", "fvcore", "ag_detectron"):
        logging.getLogger(name).setLevel(logging.INFO)
    demo_console = logging.StreamHandler(sys.stdout)
    demo_console.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(demo_console)


# ----------------------------------------------------------------------------- configs
def load_cfg(config: str, overrides: Dict[str, Any]) -> CfgNode:
    """``get_cfg → add_ag_config → merge_from_file → overrides → freeze`` (as tools/train_net.py)."""
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(os.path.join(REPO, config))
    opts: List[Any] = []
    for k, v in overrides.items():
        opts += [k, v]
    cfg.merge_from_list(opts)
    cfg.freeze()
    return cfg


# ----------------------------------------------------------------------------- stages
def stage_data(args, cache: StageCache) -> str:
    from ag_detectron.data.synthetic.generate import generate

    kwargs = {} if args.videos is None else {"num_videos": args.videos}
    try:
        result = generate(args.data, exist_ok=not args.force, overwrite=args.force, progress=True, **kwargs)
    except FileExistsError:
        logger.warning(f"  {args.data} holds a dataset made with other parameters; regenerating it")
        result = generate(args.data, overwrite=True, progress=True, **kwargs)
    _register_demo_datasets(result.root)
    stats = result.stats
    logger.info(f"  {'reused' if result.reused else 'generated'} {result.root}: {stats.get('train_frames')} "
                f"train / {stats.get('test_frames')} test frames")
    return _digest(result.params, result.stats)


def stage_stats(args, cache: StageCache, data_key: str) -> str:
    from ag_detectron.data.datasets.ag_categories import OBJECT_CLASSES, PREDICATE_CLASSES
    from ag_detectron.modeling.relation_heads.freq_prior import compute_predicate_counts, save_predicate_counts

    path = os.path.join(args.output, "predicate_stats.json")
    key = _digest("stats", data_key)
    if not cache.valid("stats", key, [path]):
        counts = compute_predicate_counts(DatasetCatalog.get(TRAIN), len(OBJECT_CLASSES), len(PREDICATE_CLASSES))
        save_predicate_counts(path, counts, list(OBJECT_CLASSES), list(PREDICATE_CLASSES), [3, 6, 17], [TRAIN])
        cache.done("stats", key)
    return path


def _register_demo_datasets(root: str) -> None:
    for name, split in ((TRAIN, "train"), (TEST, "test")):
        if name not in DatasetCatalog.list():
            register_action_genome(name, root, split)
    if TEST_ALL_DRAWN not in DatasetCatalog.list():
        register_exhaustive(TEST_ALL_DRAWN, TEST, root, "test")


def _train_worker(cfg: CfgNode, desc: str, data_root: str, log_file: str) -> None:
    """One training process: 1 thread each; rank 0 logs to ``log_file`` and shows the progress bar."""
    torch.set_num_threads(1)
    if comm.get_world_size() > 1:  # a spawned process: fresh interpreter, fresh registries and logging
        rank = comm.get_rank()
        _setup_logging(log_file if rank == 0 else f"{log_file}.rank{rank}")
        _register_demo_datasets(data_root)
    seed_all_rng(cfg.SEED + comm.get_rank())
    trainer = Trainer(cfg)
    if comm.is_main_process():
        trainer.register_hooks([_ProgressHook(desc)])
    trainer.resume_or_load(resume=False)
    trainer.train()


def _train(cfg: CfgNode, desc: str, args, num_procs: int) -> str:
    """Train ``cfg`` in ``num_procs`` CPU processes (gloo DDP; the batch is split between them).

    The synthetic models are small: on the 2-core dev machine a detector iteration (batch 8) takes
    0.55 s with 2 processes x 1 thread, 0.6-0.67 s with 1 process x 1 thread and 0.81 s with
    1 process x 2 threads (measured 2026-11-27 on an idle machine).
    """
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    log_file = os.path.join(args.output, "log.txt")
    launch(_train_worker, num_procs, dist_url="auto", backend="gloo",
           args=(cfg, desc, os.path.abspath(args.data), log_file))
    return os.path.join(cfg.OUTPUT_DIR, "model_final.pth")


def _iters(overrides: Dict[str, Any], n: Optional[int]) -> None:
    if n is not None:
        overrides.update({"SOLVER.MAX_ITER": n, "SOLVER.STEPS": (int(0.8 * n),),
                          "SOLVER.WARMUP_ITERS": min(100, max(1, n // 5))})


def stage_detector(args, cache: StageCache, data_key: str) -> str:
    out = os.path.join(args.output, "detector")
    # DATASETS.TEST empty: no evaluation inside training (stage 5 evaluates).
    overrides = {"DATASETS.TRAIN": (TRAIN,), "DATASETS.TEST": (), "OUTPUT_DIR": out}
    _iters(overrides, args.det_iters)
    cfg = load_cfg(CONFIGS["detector"], overrides)
    weights = os.path.join(out, "model_final.pth")
    key = _digest("detector", data_key, ("file", os.path.join(REPO, CONFIGS["detector"])), _detector_cfg_dump(cfg))
    if cache.valid("detector", key, [weights]):
        logger.info(f"  reusing {weights}")
    else:
        _train(cfg, "detector", args, args.num_procs)
        cache.done("detector", key)
    return key


def stage_reldn(args, cache: StageCache, det_key: str, stats_file: str) -> str:
    out = os.path.join(args.output, "reldn")
    config = CONFIGS["reldn"].format(mode="predcls")
    overrides = {
        "DATASETS.TRAIN": (TRAIN,), "DATASETS.TEST": (), "OUTPUT_DIR": out,
        "MODEL.WEIGHTS": os.path.join(args.output, "detector", "model_final.pth"),
        "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": stats_file,
    }
    _iters(overrides, args.rel_iters)
    cfg = load_cfg(config, overrides)
    weights = os.path.join(out, "model_final.pth")
    key = _digest("reldn", det_key, ("file", os.path.join(REPO, config)), cfg.dump())
    if cache.valid("reldn", key, [weights]):
        logger.info(f"  reusing {weights}")
    else:
        _train(cfg, "RelDN head (PredCls)", args, args.rel_num_procs)
        cache.done("reldn", key)
    return key


def _evaluate(cfg: CfgNode, desc: str, also: Sequence[str] = (), progress: bool = True) -> Dict[str, Any]:
    """Inference over ``cfg.DATASETS.TEST[0]`` with the dispatched evaluators.

    ``also``: further datasets of the same frames (e.g. the every-drawn-object ground truth), evaluated
    on the same predictions in the same pass; their results are under ``"also"``.
    """
    torch.set_num_threads(1)
    model = Trainer.build_model(cfg)
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    dataset = cfg.DATASETS.TEST[0]
    evaluators = {
        name: build_ag_evaluator(cfg, name, os.path.join(cfg.OUTPUT_DIR, "inference", name))
        for name in (dataset, *also)
    }
    loader = Trainer.build_test_loader(cfg, dataset)
    for evaluator in evaluators.values():
        evaluator.reset()
    start = time.perf_counter()
    with inference_context(model), torch.no_grad():
        for inputs in tqdm(loader, desc=desc, unit="frame", dynamic_ncols=True, file=sys.stdout,
                           disable=not progress):
            outputs = model(inputs)
            for evaluator in evaluators.values():
                evaluator.process(inputs, outputs)
    seconds = time.perf_counter() - start
    results = {name: evaluator.evaluate() for name, evaluator in evaluators.items()}
    return {"results": results[dataset], "also": {n: results[n] for n in also}, "seconds": seconds,
            "frames": len(loader)}


def _eval_job(job) -> Tuple[str, Dict[str, Any]]:
    """One evaluation job (a process-pool task): its name and its records keyed by result name."""
    name, cfg, also, progress = job
    ev = _evaluate(cfg, f"evaluate {name}", list(also.values()), progress)
    records = {name: {"results": ev["results"], "seconds": ev["seconds"], "frames": ev["frames"]}}
    for other_name, dataset in also.items():
        records[other_name] = {"results": ev["also"][dataset], "seconds": 0.0, "frames": ev["frames"],
                               "same_pass_as": name}
    logger.info(f"  {name}: {ev['frames']} frames in {ev['seconds']:.1f} s")
    return name, records


def stage_evaluate(args, cache: StageCache, det_key: str, rel_key: str, stats_file: str) -> Dict[str, Any]:
    """Every evaluation; each result is cached in output/demo/eval/<name>.json.

    The jobs are independent and run in ``--eval-procs`` forked processes (one thread each), most
    expensive first; the detector is evaluated against the AG annotations and against every drawn
    object in one pass.
    """
    eval_dir = os.path.join(args.output, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    det_weights = os.path.join(args.output, "detector", "model_final.pth")
    rel_weights = os.path.join(args.output, "reldn", "model_final.pth")
    # (name, config, weights, upstream key, {extra result name: dataset evaluated in the same pass})
    jobs = [(f"{model}_sgdet", CONFIGS[model].format(mode="sgdet"), w, k, {})
            for model, w, k in (("reldn", rel_weights, rel_key), ("freq", det_weights, det_key))]
    jobs.append(("detector", CONFIGS["detector"], det_weights, det_key, {"detector_all_drawn": TEST_ALL_DRAWN}))
    for mode in ("sgcls", "predcls"):
        jobs.append((f"reldn_{mode}", CONFIGS["reldn"].format(mode=mode), rel_weights, rel_key, {}))
        jobs.append((f"freq_{mode}", CONFIGS["freq"].format(mode=mode), det_weights, det_key, {}))
    all_results: Dict[str, Any] = {}
    todo, keys = [], {}
    for name, config, weights, upstream, also in jobs:
        overrides = {"DATASETS.TRAIN": (TRAIN,), "DATASETS.TEST": (TEST,),
                     "OUTPUT_DIR": os.path.join(eval_dir, name), "MODEL.WEIGHTS": weights,
                     "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": stats_file}
        cfg = load_cfg(config, overrides)
        key = _digest("eval", upstream, ("file", stats_file), cfg.dump(), sorted(also.items()))
        paths = {n: os.path.join(eval_dir, f"{n}.json") for n in (name, *also)}
        if cache.valid(f"eval_{name}", key, list(paths.values())):
            for n, path in paths.items():
                with open(path) as f:
                    all_results[n] = json.load(f)
            continue
        keys[name] = (key, paths)
        todo.append((name, cfg, also, args.eval_procs <= 1))
    if todo:
        workers = max(1, min(args.eval_procs, len(todo)))
        pool = None
        if workers == 1:
            outputs = map(_eval_job, todo)
        else:
            # non-daemonic workers (unlike multiprocessing.Pool's), so each may start its data loader's
            # own worker process
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            outputs = (f.result() for f in as_completed([pool.submit(_eval_job, job) for job in todo]))
        for name, records in tqdm(outputs, total=len(todo), desc="evaluations", unit="job",
                                  dynamic_ncols=True, file=sys.stdout, disable=workers == 1):
            key, paths = keys[name]
            for n, record in records.items():
                with open(paths[n], "w") as f:
                    json.dump(record, f, indent=1)
                all_results[n] = record
            cache.done(f"eval_{name}", key)
        if pool is not None:
            pool.shutdown()
    all_results["detector_ceiling"] = _ceiling(args, cache, eval_dir)
    return all_results


def _ceiling(args, cache: StageCache, eval_dir: str) -> Dict[str, Any]:
    """AP under the AG annotations of a perfect detector that cannot tell which objects are involved."""
    path = os.path.join(eval_dir, "detector_ceiling.json")
    # the generator's record fixes every frame and object of the split: no need to load the dataset
    key = _digest("ceiling", ("file", os.path.join(args.data, "generation.json")))
    if cache.valid("eval_detector_ceiling", key, [path]):
        with open(path) as f:
            return json.load(f)
    ap = context_blind_ceiling(TEST, drawn_objects(args.data, "test"))
    record = {"results": {"bbox": {k: 100.0 * v for k, v in ap.items()}}}
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
    cache.done("eval_detector_ceiling", key)
    return record


# ----------------------------------------------------------------------------- report
def _metric(all_results: Dict[str, Any], name: str, key: str) -> Optional[float]:
    res = all_results.get(name, {}).get("results", {})
    if name.startswith("detector"):
        value = res.get("bbox", {}).get(key)
        return None if value is None else value / 100.0  # COCOEvaluator reports percentages
    return res.get("sgg", {}).get(key)


def results_table(all_results: Dict[str, Any]) -> str:
    """The RelDN vs frequency-prior table (markdown) plus detection AP and the issue's targets."""
    cols = [("with", "R@10"), ("with", "R@20"), ("with", "R@50"), ("no", "R@20"), ("no", "R@50"),
            ("ag_paper_image", "R@20"), ("ag_paper_image", "R@50"), ("with", "mR@20_pooled"),
            ("no", "mR@50_pooled")]
    headers = ["model", "mode"] + [f"{c} {k}" for c, k in cols]
    rows = []
    for mode in MODES:
        for model, label in (("freq", "Freq prior"), ("reldn", "RelDN")):
            row = [label, mode]
            for c, k in cols:
                v = _metric(all_results, f"{model}_{mode}", f"{mode}/{c}/{k}")
                row.append("-" if v is None else f"{v:.3f}")
            rows.append(row)
    text = tabulate(rows, headers=headers, tablefmt="pipe")
    det_rows = []
    for name, label in (
        ("detector", "Faster R-CNN, AG annotations (objects involved in an action)"),
        ("detector_all_drawn", "Faster R-CNN, every drawn object boxed"),
        ("detector_ceiling", "ceiling under AG annotations: perfect boxes, blind to involvement"),
    ):
        vals = [_metric(all_results, name, k) for k in ("AP", "AP50", "AP75")]
        if any(v is not None for v in vals):
            det_rows.append([label] + ["-" if v is None else f"{v:.3f}" for v in vals])
    text += "\n\nDetection (COCO box AP on the test split):\n\n" + tabulate(
        det_rows, headers=["detector / ground truth", "AP", "AP50", "AP75"], tablefmt="pipe")
    gap = None
    rel, freq = _metric(all_results, "reldn_predcls", "predcls/with/R@20"), _metric(
        all_results, "freq_predcls", "predcls/with/R@20")
    if rel is not None and freq is not None:
        gap = rel - freq
    lines = []
    for label, (name, key, target) in TARGETS.items():
        full = f"{name}_{key.split('/')[0]}" if name == "reldn" else name
        v = _metric(all_results, full, key)
        ok = v is not None and v >= target
        lines.append(f"- {label}: {'-' if v is None else f'{v:.3f}'} (target >= {target:.2f}) "
                     f"{'PASS' if ok else 'MISS'}")
    if gap is not None:
        lines.append(f"- RelDN - Freq prior, PredCls R@20 (with): {gap:+.3f} (target >= +0.15) "
                     f"{'PASS' if gap >= 0.15 else 'MISS'}")
    ceiling = _metric(all_results, "detector_ceiling", "AP50")
    if ceiling is not None:
        lines.append(f"  (AP50 under the AG annotations is bounded near {ceiling:.3f} for any detector that "
                     "cannot tell annotated from unannotated look-alike objects; see docs/synthetic.md)")
    return text + "\n\nTargets:\n" + "\n".join(lines)


def stage_visualize(args, stats_file: str) -> List[str]:
    """Draw the SGDet scene graphs RelDN predicts on the first ``--num-vis`` test frames."""
    vis_dir = os.path.join(args.output, "vis")
    os.makedirs(vis_dir, exist_ok=True)
    cfg = load_cfg(CONFIGS["reldn"].format(mode="sgdet"), {
        "DATASETS.TRAIN": (TRAIN,), "DATASETS.TEST": (TEST,),
        "OUTPUT_DIR": os.path.join(args.output, "eval", "vis"),
        "MODEL.WEIGHTS": os.path.join(args.output, "reldn", "model_final.pth"),
        "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": stats_file,
    })
    model = Trainer.build_model(cfg)
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    loader = Trainer.build_test_loader(cfg, TEST)
    dicts = DatasetCatalog.get(TEST)
    step = max(1, len(dicts) // max(1, args.num_vis))
    wanted = {d["image_id"] for d in dicts[::step][: args.num_vis]}
    written = []
    with inference_context(model), torch.no_grad():
        for inputs in loader:
            if inputs[0]["image_id"] not in wanted:
                continue
            output = model(inputs)[0]
            record = scene_graph_record(output, frame=inputs[0]["image_id"])
            name = inputs[0]["image_id"].replace("/", "_").replace(".mp4", "")
            path = os.path.join(vis_dir, name)
            draw_predictions(inputs[0]["file_name"], record, path)
            with open(path[: -len(".png")] + ".json", "w") as f:
                json.dump(record, f, indent=1)
            written.append(path)
            if len(written) == len(wanted):
                break
    return written


# ----------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join("output", "demo"))
    parser.add_argument("--data", default=os.path.join(os.getenv("AG_DATASETS", "datasets"), "ag_synth"))
    parser.add_argument("--force", action="store_true", help="redo every stage (regenerates the data)")
    parser.add_argument("--videos", type=int, default=None, help="synthetic videos (default: generator's)")
    parser.add_argument("--det-iters", type=int, default=None, help="override the detector schedule")
    parser.add_argument("--rel-iters", type=int, default=None, help="override the RelDN schedule")
    parser.add_argument("--num-vis", type=int, default=6, help="test frames to draw")
    parser.add_argument("--num-procs", type=int, default=min(2, os.cpu_count() or 1),
                        help="training processes (gloo DDP, one thread each; default: min(2, #cores))")
    parser.add_argument("--eval-procs", type=int, default=min(2, os.cpu_count() or 1),
                        help="evaluation processes (forked, one thread each; default: min(2, #cores))")
    parser.add_argument("--rel-num-procs", type=int, default=1,
                        help="RelDN training processes (default 1: with the feature cache an iteration is "
                             "mostly small ops, and a second process only adds contention and all-reduce)")
    args = parser.parse_args(argv)

    os.makedirs(args.output, exist_ok=True)
    torch.set_num_threads(1)  # see _train: small convolutions gain little from a second thread
    _setup_logging(os.path.join(args.output, "log.txt"))
    cache = StageCache(os.path.join(args.output, "stages.json"), args.force)
    timings: Dict[str, float] = {}
    start = time.perf_counter()

    def step(i: int, title: str):
        logger.info(f"[{i}/7] {title}")
        return time.perf_counter()

    t = step(1, "synthetic dataset")
    data_key = stage_data(args, cache)
    timings["data"] = time.perf_counter() - t
    t = step(2, "predicate statistics (frequency prior)")
    stats_file = stage_stats(args, cache, data_key)
    timings["stats"] = time.perf_counter() - t
    t = step(3, "train the detector")
    det_key = stage_detector(args, cache, data_key)
    timings["detector"] = time.perf_counter() - t
    t = step(4, "train the RelDN head")
    rel_key = stage_reldn(args, cache, det_key, stats_file)
    timings["reldn"] = time.perf_counter() - t
    t = step(5, "evaluate")
    all_results = stage_evaluate(args, cache, det_key, rel_key, stats_file)
    timings["evaluate"] = time.perf_counter() - t
    t = step(6, "results")
    table = results_table(all_results)
    logger.info("\n" + table + "\n")
    timings["report"] = time.perf_counter() - t
    t = step(7, "visualizations")
    written = stage_visualize(args, stats_file) if args.num_vis > 0 else []
    timings["visualize"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    with open(os.path.join(args.output, "results.md"), "w") as f:
        f.write(table + "\n")
    summary = {"results": all_results, "timings_s": timings, "visualizations": written}
    with open(os.path.join(args.output, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    logger.info(f"Wrote {len(written)} drawings to {os.path.join(args.output, 'vis')}; stage times (s): "
                + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return summary


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""``make demo``: the whole pipeline on the synthetic Action Genome world, on a CPU, in minutes.

Stages (each is reused when its outputs exist and its inputs did not change, unless ``--force``):

1. data      generate the synthetic dataset (``ag_detectron.data.synthetic.generate``) unless done
2. stats     predicate counts of the training split (the frequency prior's table)
3. detector  train Faster R-CNN from scratch            (configs/Synthetic/faster_rcnn_*_synth.yaml)
4. reldn     train the RelDN head on the frozen detector (configs/Synthetic/reldn_*_predcls_*.yaml)
5. evaluate  detection AP (AG annotations; every drawn object boxed; the AP ceiling of a perfect
             detector blind to which objects are involved); RelDN and the frequency prior in
             PredCls / SGCls / SGDet (community with/no constraint, AG-paper protocol, mean recall)
6. report    one results table (stdout, output/demo/results.md, results.json)
7. visualize predicted scene graphs of a few test frames (output/demo/vis/*.png)

Action recognition on the synthetic Charades files (``ag_detectron.pipeline.action_demo``):

8. clip      train and test the 3D CNN alone   (configs/Synthetic/clip_classifier_demo_synth.yaml)
9. banks     LFB bank (the 3D CNN's clip features), scene-graph bank (RelDN in SGDet mode),
             oracle bank (ground truth), 2 entries/s
10. heads    LFB / SGFB / SGFB Oracle x avg / max / nl on the frozen 3D CNN, over head seeds
11. few-shot novel-class mAP at k = 1, 5, 10 over split seeds (base 3D CNN per seed)
12. actions  the Charades mAP table, the few-shot table and the orderings
             (output/demo/results.md, results.json)

The relation head is trained once (PredCls: ground-truth boxes) and evaluated in every mode; the
frequency prior is not trained (its table comes from the stats file). Logs: output/demo/log.txt.
The machinery (stage cache, training processes, evaluation, report, drawings) is
``ag_detectron.pipeline``; this file only says what each stage does.
"""

import argparse
import functools
import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence

import torch
from detectron2.config import CfgNode

import ag_detectron.data  # noqa: F401  (registration: datasets)
import ag_detectron.modeling  # noqa: F401  (registration: meta-architectures and heads)
from ag_detectron.data.synthetic.drawn import context_blind_ceiling, drawn_objects
from ag_detectron.modes import RelationMode
from ag_detectron.pipeline import Stage, StageCache, digest, run_stages, setup_run_logging
from ag_detectron.pipeline.action_demo import ActionDemo, action_report
from ag_detectron.pipeline.actions import cfg_with
from ag_detectron.pipeline.drawing import draw_test_frames
from ag_detectron.pipeline.evaluation import EvalJob, run_eval_jobs
from ag_detectron.pipeline.predicate_stats import write_predicate_stats
from ag_detectron.pipeline.report import (
    Target,
    detection_table,
    metric,
    scene_graph_table,
    target_lines,
    write_results,
)
from ag_detectron.pipeline.synthetic import register_synthetic_splits
from ag_detectron.pipeline.training import schedule_overrides, train

logger = logging.getLogger("ag_detectron.demo")

CONFIGS = {
    "detector": "configs/Synthetic/faster_rcnn_R_50n_FPN_adamw_synth.yaml",
    "reldn": "configs/Synthetic/reldn_R_50n_FPN_{mode}_synth.yaml",
    "freq": "configs/Synthetic/freq_prior_R_50n_FPN_{mode}_synth.yaml",
}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = tuple(m.value for m in RelationMode)  # "predcls", "sgcls", "sgdet"
TRAIN, TEST = "demo_synth_train", "demo_synth_test"
TEST_ALL_DRAWN = (
    "demo_synth_test_all_drawn"  # every drawn object boxed (ag_detectron.data.synthetic.drawn)
)
# Targets of issue #5 on the synthetic test split.
TARGETS = (
    Target("RelDN PredCls R@20 (with)", "reldn_predcls", "predcls/with/R@20", 0.90),
    Target("RelDN SGDet R@20 (with)", "reldn_sgdet", "sgdet/with/R@20", 0.50),
    Target("Detector AP50 (AG annotations)", "detector", "AP50", 0.80),
)
TABLE_COLUMNS = (
    ("with", "R@10"),
    ("with", "R@20"),
    ("with", "R@50"),
    ("no", "R@20"),
    ("no", "R@50"),
    ("ag_paper_image", "R@20"),
    ("ag_paper_image", "R@50"),
    ("with", "mR@20_pooled"),
    ("no", "mR@50_pooled"),
)
DETECTION_ROWS = (
    ("detector", "Faster R-CNN, AG annotations (objects involved in an action)"),
    ("detector_all_drawn", "Faster R-CNN, every drawn object boxed"),
    ("detector_ceiling", "ceiling under AG annotations: perfect boxes, blind to involvement"),
)

# Namespaces the scene-graph models never read: adding or changing their keys (e.g. a new
# action-model option) must not invalidate a trained scene-graph stage.
_VIDEO_NAMESPACES = (
    ("TEST", "CHARADES"),
    ("MODEL", "VIDEO"),
    ("MODEL", "SGFB"),
    ("INPUT", "CLIP"),
    ("TEST", "CLIP"),
)
# ... and those a plain detector never reads (e.g. a new relation-head option).
_NON_DETECTOR_NAMESPACES = (
    ("MODEL", "ROI_RELATION_HEAD"),
    ("TEST", "RELATION"),
    *_VIDEO_NAMESPACES,
)


def load_cfg(config: str, overrides: Dict[str, Any]) -> CfgNode:
    """``get_ag_cfg`` of ``config`` (relative to the repository root) with ``overrides`` (key →
    value), frozen."""
    return cfg_with(os.path.join(REPO, config), overrides)


def _cfg_dump_without(cfg: CfgNode, namespaces=_VIDEO_NAMESPACES) -> str:
    """``cfg.dump()`` without ``namespaces`` (the part of a config a stage's key covers)."""
    view = cfg.clone()
    view.defrost()
    for parent, child in namespaces:
        view[parent].pop(child, None)
    return view.dump()


def _register(args) -> functools.partial:
    return functools.partial(
        register_synthetic_splits, os.path.abspath(args.data), TRAIN, TEST, TEST_ALL_DRAWN
    )


# ----------------------------------------------------------------------------- stages
def stage_data(args) -> Dict[str, str]:
    from ag_detectron.data.synthetic.generate import generate

    kwargs = {"charades_long_videos": args.long_videos}
    if args.videos is not None:
        kwargs["num_videos"] = args.videos
    try:
        result = generate(
            args.data, exist_ok=not args.force, overwrite=args.force, progress=True, **kwargs
        )
    except FileExistsError:
        logger.warning(f"  {args.data} holds a dataset made with other parameters; regenerating it")
        result = generate(args.data, overwrite=True, progress=True, **kwargs)
    register_synthetic_splits(result.root, TRAIN, TEST, TEST_ALL_DRAWN)
    stats = result.stats
    logger.info(
        f"  {'reused' if result.reused else 'generated'} {result.root}: "
        f"{stats.get('train_frames')} train / {stats.get('test_frames')} test frames"
    )
    # The Action Genome half does not depend on the long Charades-only videos (byte-identical
    # files, tests/synthetic/test_long_videos.py): the scene-graph stages key on it alone.
    long_keys = ("charades_long_videos", "charades_long_frames")
    ag_stats = {k: v for k, v in stats.items() if k not in long_keys}
    ag_stats["charades_frames"] = stats.get("charades_frames", 0) - stats.get(
        "charades_long_frames", 0
    )
    ag_params = {k: v for k, v in result.params.items() if k != "charades_long_videos"}
    return {"ag": digest(ag_params, ag_stats), "all": digest(result.params, result.stats)}


def stage_stats(args, cache: StageCache, data_key: str) -> str:
    path = os.path.join(args.output, "predicate_stats.json")
    cache.run(
        "stats", digest("stats", data_key), [path], lambda: write_predicate_stats([TRAIN], path)
    )
    return path


def _train_stage(
    args, cache: StageCache, stage: str, cfg: CfgNode, key: str, desc: str, procs: int
) -> str:
    weights = os.path.join(cfg.OUTPUT_DIR, "model_final.pth")
    log_file = os.path.join(args.output, "log.txt")
    if not cache.run(
        stage, key, [weights], lambda: train(cfg, desc, procs, log_file, _register(args))
    ):
        logger.info(f"  reusing {weights}")
    return key


def stage_detector(args, cache: StageCache, data_key: str) -> str:
    # DATASETS.TEST empty: no evaluation inside training (stage 5 evaluates).
    cfg = load_cfg(
        CONFIGS["detector"],
        {
            "DATASETS.TRAIN": (TRAIN,),
            "DATASETS.TEST": (),
            "OUTPUT_DIR": os.path.join(args.output, "detector"),
            **schedule_overrides(args.det_iters),
        },
    )
    key = digest(
        "detector",
        data_key,
        ("file", os.path.join(REPO, CONFIGS["detector"])),
        _cfg_dump_without(cfg, _NON_DETECTOR_NAMESPACES),
    )
    return _train_stage(args, cache, "detector", cfg, key, "detector", args.num_procs)


def stage_reldn(args, cache: StageCache, det_key: str, stats_file: str) -> str:
    config = CONFIGS["reldn"].format(mode=RelationMode.PREDCLS.value)
    cfg = load_cfg(
        config,
        {
            "DATASETS.TRAIN": (TRAIN,),
            "DATASETS.TEST": (),
            "OUTPUT_DIR": os.path.join(args.output, "reldn"),
            "MODEL.WEIGHTS": os.path.join(args.output, "detector", "model_final.pth"),
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": stats_file,
            **schedule_overrides(args.rel_iters),
        },
    )
    key = digest("reldn", det_key, ("file", os.path.join(REPO, config)), _cfg_dump_without(cfg))
    return _train_stage(args, cache, "reldn", cfg, key, "RelDN head (PredCls)", args.rel_num_procs)


def stage_evaluate(
    args, cache: StageCache, det_key: str, rel_key: str, stats_file: str
) -> Dict[str, Any]:
    """Every evaluation, most expensive first; each result cached in output/demo/eval/<name>.json.
    The detector is scored against the AG annotations and every drawn object in one pass."""
    eval_dir = os.path.join(args.output, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    det_weights = os.path.join(args.output, "detector", "model_final.pth")
    rel_weights = os.path.join(args.output, "reldn", "model_final.pth")
    # (name, config, weights, upstream key, {extra result name: dataset evaluated in the same pass},
    # stats file). Only the frequency prior, evaluated with the detector's weights, reads its table
    # from the stats file; trained RelDN weights carry their own table.
    sgdet, sgcls, predcls = (
        RelationMode.SGDET.value,
        RelationMode.SGCLS.value,
        RelationMode.PREDCLS.value,
    )
    specs = [
        (f"reldn_{sgdet}", CONFIGS["reldn"].format(mode=sgdet), rel_weights, rel_key, {}, ""),
        (
            f"freq_{sgdet}",
            CONFIGS["freq"].format(mode=sgdet),
            det_weights,
            det_key,
            {},
            stats_file,
        ),
        (
            "detector",
            CONFIGS["detector"],
            det_weights,
            det_key,
            {"detector_all_drawn": TEST_ALL_DRAWN},
            "",
        ),
    ]
    for mode in (sgcls, predcls):
        specs.append(
            (f"reldn_{mode}", CONFIGS["reldn"].format(mode=mode), rel_weights, rel_key, {}, "")
        )
        specs.append(
            (
                f"freq_{mode}",
                CONFIGS["freq"].format(mode=mode),
                det_weights,
                det_key,
                {},
                stats_file,
            )
        )
    all_results: Dict[str, Any] = {}
    jobs, keys = [], {}
    for name, config, weights, upstream, also, stats in specs:
        overrides = {
            "DATASETS.TRAIN": (TRAIN,),
            "DATASETS.TEST": (TEST,),
            "OUTPUT_DIR": os.path.join(eval_dir, name),
            "MODEL.WEIGHTS": weights,
            # "" for trained RelDN weights: never read a stats file the base config names
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": stats,
        }
        cfg = load_cfg(config, overrides)
        stats_part = ("file", stats) if stats else ""
        key = digest("eval", upstream, stats_part, _cfg_dump_without(cfg), sorted(also.items()))
        paths = {n: os.path.join(eval_dir, f"{n}.json") for n in (name, *also)}
        if cache.valid(f"eval_{name}", key, list(paths.values())):
            for n, path in paths.items():
                with open(path) as f:
                    all_results[n] = json.load(f)
        else:
            keys[name] = (key, paths)
            jobs.append(EvalJob(name, cfg, also))
    for name, records in run_eval_jobs(jobs, args.eval_procs):
        key, paths = keys[name]
        for n, record in records.items():
            with open(paths[n], "w") as f:
                json.dump(record, f, indent=1)
            all_results[n] = record
        cache.done(f"eval_{name}", key)
    all_results["detector_ceiling"] = _ceiling(args, cache, eval_dir)
    return all_results


def _ceiling(args, cache: StageCache, eval_dir: str) -> Dict[str, Any]:
    """AP under the AG annotations of a perfect detector that cannot tell involved objects apart."""
    path = os.path.join(eval_dir, "detector_ceiling.json")

    def produce() -> None:
        ap = context_blind_ceiling(TEST, drawn_objects(args.data, "test"))
        with open(path, "w") as f:
            json.dump({"results": {"bbox": {k: 100.0 * v for k, v in ap.items()}}}, f, indent=1)

    # the generator's record fixes every frame and object of the split: no need to load the dataset
    cache.run(
        "eval_detector_ceiling",
        digest("ceiling", ("file", os.path.join(args.data, "generation.json"))),
        [path],
        produce,
    )
    with open(path) as f:
        return json.load(f)


def results_table(all_results: Dict[str, Any]) -> str:
    """The RelDN vs frequency-prior table (markdown) plus detection AP and the issue's targets."""
    text = scene_graph_table(
        all_results, MODES, (("freq", "Freq prior"), ("reldn", "RelDN")), TABLE_COLUMNS
    )
    text += "\n\nDetection (COCO box AP on the test split):\n\n" + detection_table(
        all_results, DETECTION_ROWS
    )
    lines = target_lines(all_results, TARGETS)
    rel, freq = (
        metric(all_results, f"{m}_predcls", "predcls/with/R@20") for m in ("reldn", "freq")
    )
    if rel is not None and freq is not None:
        gap = rel - freq
        lines.append(
            f"- RelDN - Freq prior, PredCls R@20 (with): {gap:+.3f} (target >= +0.15) "
            f"{'PASS' if gap >= 0.15 else 'MISS'}"
        )
    ceiling = metric(all_results, "detector_ceiling", "AP50")
    if ceiling is not None:
        lines.append(
            f"  (AP50 under the AG annotations is bounded near {ceiling:.3f} for any detector that "
            "cannot tell annotated from unannotated look-alike objects; see docs/synthetic.md)"
        )
    return text + "\n\nTargets:\n" + "\n".join(lines)


def stage_report(all_results: Dict[str, Any]) -> str:
    table = results_table(all_results)
    logger.info("\n" + table + "\n")
    return table


def stage_visualize(args) -> List[str]:
    """Draw the SGDet scene graphs RelDN predicts on ``--num-vis`` test frames (the trained
    weights hold the frequency table: no stats file)."""
    cfg = load_cfg(
        CONFIGS["reldn"].format(mode=RelationMode.SGDET.value),
        {
            "DATASETS.TRAIN": (TRAIN,),
            "DATASETS.TEST": (TEST,),
            "OUTPUT_DIR": os.path.join(args.output, "eval", "vis"),
            "MODEL.WEIGHTS": os.path.join(args.output, "reldn", "model_final.pth"),
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": "",
        },
    )
    return draw_test_frames(cfg, TEST, args.num_vis, os.path.join(args.output, "vis"))


# ----------------------------------------------------------------------------- main
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join("output", "demo"))
    parser.add_argument(
        "--data", default=os.path.join(os.getenv("AG_DATASETS", "datasets"), "ag_synth")
    )
    parser.add_argument(
        "--force", action="store_true", help="redo every stage (regenerates the data)"
    )
    parser.add_argument(
        "--videos", type=int, default=None, help="synthetic videos (default: generator's)"
    )
    parser.add_argument(
        "--det-iters", type=int, default=None, help="override the detector schedule"
    )
    parser.add_argument("--rel-iters", type=int, default=None, help="override the RelDN schedule")
    parser.add_argument("--num-vis", type=int, default=6, help="test frames to draw")
    parser.add_argument(
        "--long-videos",
        type=int,
        default=60,
        help="long Charades-only videos added to the synthetic world (docs/synthetic.md)",
    )
    parser.add_argument(
        "--no-actions", action="store_true", help="stop after the scene-graph stages"
    )
    parser.add_argument("--clip-iters", type=int, default=None, help="3D CNN schedule override")
    parser.add_argument("--head-iters", type=int, default=None, help="head schedule override")
    parser.add_argument(
        "--base-iters",
        type=int,
        default=200,
        help="few-shot base 3D CNN iterations (default 200, to fit the demo's time budget; the "
        "3D CNN alone trains for its config's 400)",
    )
    parser.add_argument(
        "--few-shot-head-iters",
        type=int,
        default=300,
        help="few-shot head iterations (default 300 x 8 clips: >= 50 epochs of the largest "
        "k-shot set, the paper's schedule)",
    )
    parser.add_argument(
        "--head-seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds per head"
    )
    parser.add_argument(
        "--few-shot-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4], help="split seeds"
    )
    parser.add_argument(
        "--num-procs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="training processes (gloo DDP, one thread each; default: min(2, #cores))",
    )
    parser.add_argument(
        "--eval-procs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="evaluation processes (forked, one thread each; default: min(2, #cores))",
    )
    parser.add_argument(
        "--rel-num-procs",
        type=int,
        default=1,
        help="RelDN training processes (default 1: with the feature cache an iteration is "
        "mostly small ops, and a second process only adds contention and all-reduce)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    # On the 2-core dev machine a detector iteration (batch 8) takes 0.55 s with 2 processes x 1
    # thread, 0.6-0.67 s with 1 x 1 and 0.81 s with 1 x 2 (measured 2026-11-27, idle machine).
    torch.set_num_threads(1)
    setup_run_logging(os.path.join(args.output, "log.txt"), logger)
    cache = StageCache(os.path.join(args.output, "stages.json"), args.force)
    actions = ActionDemo(
        repo=REPO,
        output=os.path.join(args.output, "actions"),
        data=args.data,
        log_file=os.path.join(args.output, "log.txt"),
        ag_datasets=(TRAIN, TEST),
        sg_config=CONFIGS["reldn"].format(mode=RelationMode.SGDET.value),
        sg_weights=os.path.join(args.output, "reldn", "model_final.pth"),
        clip_iters=args.clip_iters,
        head_iters=args.head_iters,
        base_iters=args.base_iters,
        few_shot_head_iters=args.few_shot_head_iters,
        head_seeds=tuple(args.head_seeds),
        few_shot_seeds=tuple(args.few_shot_seeds),
        num_procs=args.num_procs,
        run_logger=logger,
    )
    if args.force:
        actions.forget()
    on = not args.no_actions
    background: List[Any] = []  # the action half's pre-training process (started with RelDN)

    def reldn_and_pretraining(s: Dict[str, Any]) -> str:
        # RelDN trains in one process; the 3D CNNs of the action half use the other core
        if on:
            background.append(actions.start_pretraining(s["data"]["all"]))
        return stage_reldn(args, cache, s["detector"], s["stats"])

    def clip(s: Dict[str, Any]) -> Dict[str, Any]:
        ActionDemo.join_pretraining(background.pop() if background else None)
        return actions.stage_clip(s["data"]["all"])

    stages = [
        Stage("data", "synthetic dataset", lambda s: stage_data(args)),
        Stage(
            "stats",
            "predicate statistics (frequency prior)",
            lambda s: stage_stats(args, cache, s["data"]["ag"]),
        ),
        Stage(
            "detector", "train the detector", lambda s: stage_detector(args, cache, s["data"]["ag"])
        ),
        Stage(
            "reldn",
            "train the RelDN head"
            + (" (3D CNNs of the action half in the background)" if on else ""),
            reldn_and_pretraining,
        ),
        Stage(
            "evaluate",
            "evaluate",
            lambda s: stage_evaluate(args, cache, s["detector"], s["reldn"], s["stats"]),
        ),
        Stage("report", "results", lambda s: stage_report(s["evaluate"])),
        Stage(
            "visualize",
            "visualizations",
            lambda s: stage_visualize(args),
            enabled=args.num_vis > 0,
        ),
    ]
    stages += [
        Stage("clip", "train and test the 3D CNN", clip, on),
        Stage(
            "banks",
            "feature banks (LFB, scene graph, oracle)",
            lambda s: actions.stage_banks(s["clip"], s["reldn"]),
            on,
        ),
        Stage(
            "heads",
            "LFB / SGFB / SGFB Oracle heads",
            lambda s: actions.stage_heads(s["clip"], s["banks"]),
            on,
        ),
        Stage(
            "few_shot",
            "few-shot table",
            lambda s: actions.stage_few_shot(s["data"]["all"]),
            on and bool(args.few_shot_seeds),
        ),
        Stage(
            "actions",
            "action-recognition results",
            lambda s: action_report(actions, s["clip"], s["heads"], s["few_shot"], logger),
            on,
        ),
    ]
    state: Dict[str, Any] = {}
    timings = run_stages(stages, state, logger)
    written = state["visualize"] or []
    summary = {"results": state["evaluate"], "timings_s": timings, "visualizations": written}
    report = state["report"]
    if state.get("actions"):
        report += "\n\n" + state["actions"]["text"]
        summary["actions"] = state["actions"]["summary"]
    write_results(args.output, report, summary)
    logger.info(
        f"Wrote {len(written)} drawings to {os.path.join(args.output, 'vis')}; stage times (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
    )
    return summary


if __name__ == "__main__":
    main()

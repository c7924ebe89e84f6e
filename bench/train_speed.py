#!/usr/bin/env python
"""Training and inference speed: scene-graph model (RelDN) versus plain Faster R-CNN.

Both run with the same config and batch.

    python bench/train_speed.py --weights output/demo/detector/model_final.pth \
        --rel-weights output/demo/reldn/model_final.pth --threads 2

Measures, on the same batches of ``--dataset`` frames (mapped exactly as in training), interleaved
so that CPU contention hits every variant alike:

- ``detector/train``       Faster R-CNN training step (forward + backward + SGD) of the detector
  config
- ``sg_predcls/train``     RelDN training step, detector frozen (the demo's recipe: relation head
  only)
- ``sg_sgdet/train``       the same on detected boxes (needs a trained detector for realistic pair
  counts)
- ``sg_predcls_cached/train``  the same with ``FEATURE_CACHE_MB`` once every image is cached (the
  steady state of an epoch-based run on a frozen detector: only the relation head runs)
- ``sg_predcls_unfrozen/train``  RelDN training with ``FREEZE_DETECTOR=False`` (relation losses
  reach the backbone): the full scene-graph model's training cost
- ``detector/infer``, ``sg_sgdet/infer``, ``sg_predcls/infer``  batch-1 inference, frames per second

Prints a table and ``--json`` writes the numbers (median seconds per iteration over ``--iters``).
"""

import argparse
import json
import os
import statistics
import time
from typing import Dict, List

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import CfgNode, get_cfg
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from tabulate import tabulate

import ag_detectron.data  # noqa: F401  (registration)
import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.config import add_ag_config
from ag_detectron.data.datasets import register_action_genome
from ag_detectron.engine import build_ag_mapper
from ag_detectron.utils.machine import cpu_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DET_CONFIG = "configs/Synthetic/faster_rcnn_R_50n_FPN_synth.yaml"
SG_CONFIG = "configs/Synthetic/reldn_R_50n_FPN_{mode}_synth.yaml"


def load_cfg(path: str, opts: List) -> CfgNode:
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(os.path.join(REPO, path))
    cfg.merge_from_list(opts)
    cfg.freeze()
    return cfg


def train_step(model, optimizer, batch) -> None:
    losses = model(batch)
    loss = sum(losses.values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main() -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", default=os.path.join(os.getenv("AG_DATASETS", "datasets"), "ag_synth")
    )
    parser.add_argument("--weights", default="", help="trained detector checkpoint (recommended)")
    parser.add_argument("--rel-weights", default="", help="trained RelDN checkpoint (optional)")
    parser.add_argument("--stats", default="", help="FREQ_BIAS_FILE (default: computed in memory)")
    parser.add_argument("--batch", type=int, default=8, help="images per training iteration")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--infer-frames", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    name = "bench_synth_train"
    if name not in DatasetCatalog.list():
        register_action_genome(name, args.data, "train")
    dicts = DatasetCatalog.get(name)
    stats = args.stats
    if not stats:
        from ag_detectron.engine.testing import write_tiny_stats

        stats = write_tiny_stats("/tmp/ag_bench_predicate_stats.json", [name])
    common = [
        "DATASETS.TRAIN",
        (name,),
        "DATASETS.TEST",
        (name,),
        "SOLVER.IMS_PER_BATCH",
        args.batch,
        "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE",
        stats,
    ]
    det_weights = ["MODEL.WEIGHTS", args.weights]
    allow = ["MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR", not args.weights]
    no_cache = ["MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB", 0]
    variants = {
        "detector": load_cfg(DET_CONFIG, common + det_weights),
        "sg_predcls": load_cfg(
            SG_CONFIG.format(mode="predcls"), common + det_weights + allow + no_cache
        ),
        "sg_predcls_cached": load_cfg(
            SG_CONFIG.format(mode="predcls"),
            common + det_weights + allow + ["MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB", 1024],
        ),
        "sg_sgdet": load_cfg(
            SG_CONFIG.format(mode="sgdet"), common + det_weights + allow + no_cache
        ),
        "sg_predcls_unfrozen": load_cfg(
            SG_CONFIG.format(mode="predcls"),
            common
            + det_weights
            + allow
            + no_cache
            + ["MODEL.ROI_RELATION_HEAD.FREEZE_DETECTOR", False],
        ),
    }
    models, optims, batches = {}, {}, {}
    for key, cfg in variants.items():
        model = build_model(cfg)
        weights = args.rel_weights if (key.startswith("sg") and args.rel_weights) else args.weights
        if weights:
            DetectionCheckpointer(model).load(weights)
        models[key] = model
        params = [p for p in model.parameters() if p.requires_grad]
        optims[key] = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
        mapper = build_ag_mapper(cfg, is_train=True)
        n = args.batch * (args.warmup + args.iters)
        batches[key] = [mapper(dicts[i % len(dicts)]) for i in range(n)]

    times: Dict[str, List[float]] = {k: [] for k in variants}
    with EventStorage():
        for it in range(args.warmup + args.iters):
            for key, model in models.items():
                model.train()
                # the cached variant replays the warm-up batches: every timed step is all cache hits
                b = it % max(1, args.warmup) if key == "sg_predcls_cached" else it
                batch = batches[key][b * args.batch : (b + 1) * args.batch]
                start = time.perf_counter()
                train_step(model, optims[key], batch)
                if it >= args.warmup:
                    times[key].append(time.perf_counter() - start)
    rows, result = (
        [],
        {
            "cpu": cpu_name(),
            "threads": args.threads,
            "batch": args.batch,
            "torch": torch.__version__,
        },
    )
    det_train = statistics.median(times["detector"])
    for key in variants:
        med = statistics.median(times[key])
        result[f"{key}/train_s_per_iter"] = med
        rows.append(
            [
                f"{key} train",
                f"{med:.3f} s/iter",
                f"{100 * (med / det_train - 1):+.0f}% vs detector",
            ]
        )

    infer_keys = ("detector", "sg_predcls", "sg_sgdet")
    test_mappers = {k: build_ag_mapper(variants[k], is_train=False) for k in infer_keys}
    infer_times: Dict[str, List[float]] = {k: [] for k in infer_keys}
    with torch.no_grad():
        for i in range(args.infer_frames + 2):
            for key in infer_keys:
                model = models[key]
                model.eval()
                inp = test_mappers[key](dicts[i % len(dicts)])
                start = time.perf_counter()
                model([inp])
                if i >= 2:
                    infer_times[key].append(time.perf_counter() - start)
    det_inf = statistics.median(infer_times["detector"])
    for key in infer_keys:
        med = statistics.median(infer_times[key])
        result[f"{key}/infer_fps"] = 1.0 / med
        rows.append(
            [
                f"{key} inference",
                f"{1.0 / med:.1f} frames/s",
                f"{100 * (med / det_inf - 1):+.0f}% time vs detector",
            ]
        )
    print(
        f"CPU: {result['cpu']}, {args.threads} threads, batch {args.batch}, "
        f"torch {torch.__version__}"
    )
    print(tabulate(rows, headers=["variant", "median", "relative"], tablefmt="pipe"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Training-step cost of SGFB with a precomputed bank versus the clip classifier's step alone.

    python bench/sgfb_step.py --threads 2 [--config configs/Synthetic/sgfb_nl_synth.yaml]

Builds, from one config (default: the synthetic SGFB NL config), the clip classifier and SGFB
with the same backbone and batch, writes a bank of ``--videos`` x ``--entries`` entries x 910
float16 with the project's ``FeatureBankWriter`` (a temporary directory) and times, interleaved so
that CPU contention hits every variant alike (median seconds per step over ``--iters``):

- ``clip``            ClipClassifier training step (forward + backward + AdamW), backbone trained
- ``clip_frozen``     the same with MODEL.VIDEO.FREEZE_BACKBONE (only the classifier trains)
- ``sgfb_frozen``     SGFB step, backbone frozen (the default, LFB stage 2), bank windows already
                      in the batch (the loader reads them in its workers)
- ``sgfb_unfrozen``   SGFB step with MODEL.SGFB.FREEZE_BACKBONE False
- ``window_read``     reading the batch's windows from the memory-mapped bank (what the loader adds
                      per batch, off the training step)

The target (issue: <= +10 %) compares each SGFB step with the clip step of the same freezing.
``--json`` writes the numbers.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.modeling import build_model
from tabulate import tabulate

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.config import get_ag_cfg
from ag_detectron.data.bank_mapper import bank_window_spec
from ag_detectron.feature_bank import FeatureBank, FeatureBankWriter, consolidate
from ag_detectron.feature_bank.scene_graph import scene_graph_provenance
from ag_detectron.utils.machine import cpu_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_cfg(path: str, opts: List[str]) -> CfgNode:
    return get_ag_cfg(
        os.path.join(REPO, path),
        ["MODEL.DEVICE", "cpu", "MODEL.SGFB.BANK_DIR", "", "MODEL.WEIGHTS", ""] + opts,
    )


def write_bank(bank_dir: str, videos: int, entries: int) -> FeatureBank:
    prov = scene_graph_provenance()
    writer = FeatureBankWriter(bank_dir, prov, fsync=False)
    rng = np.random.default_rng(0)
    for v in range(videos):
        times = np.arange(entries) / 2.0
        writer.write(
            f"V{v:04d}",
            times,
            rng.random((entries, prov.dim), dtype=np.float32),
            duration=entries / 2.0,
        )
    consolidate(bank_dir, fsync=False)
    return FeatureBank(bank_dir, expected=prov)


def make_batch(cfg: CfgNode, bank: FeatureBank, n: int, seed: int) -> List[Dict]:
    rng = np.random.default_rng(seed)
    c = cfg.INPUT.CLIP
    size, k = c.TRAIN_CROP_SIZE, cfg.MODEL.VIDEO.NUM_CLASSES
    spec = bank_window_spec(cfg)
    out = []
    for _ in range(n):
        vid = bank.videos[int(rng.integers(len(bank)))]
        centre = float(rng.uniform(0, bank.duration(vid)))
        win = bank.window(vid, centre, spec)
        out.append(
            {
                "clip": torch.from_numpy(
                    rng.integers(0, 256, (3, c.NUM_FRAMES, size, size), dtype=np.uint8)
                ),
                "labels": torch.from_numpy((rng.random(k) < 0.05).astype(np.float32)),
                "video_id": vid,
                "clip_center_sec": centre,
                "bank_window": torch.from_numpy(win.entries),
                "bank_mask": torch.from_numpy(win.mask),
            }
        )
    return out


def step_fn(model: torch.nn.Module, lr: float) -> Callable[[List[Dict]], None]:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()

    def step(batch: List[Dict]) -> None:
        loss = sum(model(batch).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="configs/Synthetic/sgfb_nl_synth.yaml")
    ap.add_argument("--batch", type=int, default=0, help="0 = SOLVER.IMS_PER_BATCH")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--entries", type=int, default=60)
    ap.add_argument("--only", default="", help="comma-separated variants (default: all four)")
    ap.add_argument("--json", default="")
    ap.add_argument("opts", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = load_cfg(args.config, args.opts)
    n = args.batch or base.SOLVER.IMS_PER_BATCH
    lr = base.SOLVER.BASE_LR
    variants = {
        "clip": ["MODEL.META_ARCHITECTURE", "ClipClassifier"],
        "clip_frozen": [
            "MODEL.META_ARCHITECTURE",
            "ClipClassifier",
            "MODEL.VIDEO.FREEZE_BACKBONE",
            "True",
        ],
        "sgfb_frozen": ["MODEL.SGFB.FREEZE_BACKBONE", "True"],
        "sgfb_unfrozen": ["MODEL.SGFB.FREEZE_BACKBONE", "False"],
    }
    if args.only:
        variants = {k: v for k, v in variants.items() if k in args.only.split(",")}
    steps = {}
    for name, opts in variants.items():
        torch.manual_seed(0)
        steps[name] = step_fn(build_model(load_cfg(args.config, args.opts + opts)), lr)
    times: Dict[str, List[float]] = {name: [] for name in list(steps) + ["window_read"]}
    with tempfile.TemporaryDirectory() as tmp:
        bank = write_bank(tmp, args.videos, args.entries)
        spec = bank_window_spec(base)
        for it in range(args.warmup + args.iters):
            batch = make_batch(base, bank, n, it)
            t0 = time.perf_counter()
            bank.windows(
                [b["video_id"] for b in batch], [b["clip_center_sec"] for b in batch], spec
            )
            read = time.perf_counter() - t0
            if it >= args.warmup:
                times["window_read"].append(read)
            for name, step in steps.items():
                t0 = time.perf_counter()
                step(batch)
                if it >= args.warmup:
                    times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    pairs = {"sgfb_frozen": "clip_frozen", "sgfb_unfrozen": "clip"}
    rel = {k: med[k] / med[c] - 1 for k, c in pairs.items() if k in med and c in med}
    rows = [[k, f"{v:.4f}", f"{rel[k] * 100:+.1f} %" if k in rel else ""] for k, v in med.items()]
    print(
        f"{cpu_name()}, torch threads {torch.get_num_threads()}, batch {n}, config "
        f"{args.config}, bank {args.videos} videos x {args.entries} entries x 910 float16"
    )
    print(tabulate(rows, headers=["variant", "median s/step", "vs clip step (same freezing)"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "median_s": med,
                    "overhead": rel,
                    "batch": n,
                    "config": args.config,
                    "machine": cpu_name(),
                    "threads": torch.get_num_threads(),
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()

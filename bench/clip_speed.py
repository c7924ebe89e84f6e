#!/usr/bin/env python
"""Clip classifier speed: our ``ClipClassifier`` versus the bare ``pytorchvideo`` SlowFast.

    python bench/clip_speed.py --threads 2 --json output/bench/clip_speed.json

For each variant (``--variants``), both models are built with the same architecture and weights
(the bare model: ``pytorchvideo.models.create_slowfast`` with a global-average head, our model the
``SlowFast`` backbone + ``cls_score``; the weights are copied and the outputs checked equal) and are
fed the same batch:

- ours: the mapper's output, a list of dicts with uint8 (3, T, H, W) clips and (K,) labels; the
  model stacks, normalises, builds the slow pathway, pools and classifies (``ClipClassifier``);
- bare: the already normalised float clip as ``[slow, fast]`` (built outside the timed region) --
  so the difference is everything our wrapper, data layout and head add.

Steps are interleaved (ours, bare, bare, ours, ...) so machine load hits both alike. Training:
forward, BCE-with-logits, backward and an SGD step. Inference: forward under ``torch.no_grad``.
``--clock cpu`` (default) times the CPU seconds the process spends (``time.process_time``), which
other processes on a shared machine disturb much less than wall-clock time (use ``--threads 1``:
idle OpenMP threads spin); ``--clock wall`` times wall clock. Reported: median seconds per step
over ``--iters``, clips/s, our overhead in percent, and ``prep_s``, the median time of our input
preparation alone (stack, uint8 -> float, normalise), the part of our step the bare model does not
do.
"""

import argparse
import json
import os
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from pytorchvideo.models.slowfast import create_slowfast
from tabulate import tabulate
from torch import nn

from ag_detectron.modeling.meta_arch import ClipClassifier
from ag_detectron.modeling.video import SlowFast
from ag_detectron.utils.machine import cpu_name

MEAN, STD = 114.75, 57.375

# name: (stem width, depth, frames T, crop, batch)
VARIANTS = {
    "slim": (16, 50, 16, 112, 8),  # the synthetic-world model (configs/Synthetic)
    "r50_small": (64, 50, 16, 112, 2),  # SlowFast R50 at a CPU-sized input
}


def build_pair(width: int, depth: int, num_classes: int):
    torch.manual_seed(0)
    bare = create_slowfast(
        model_depth=depth,
        stem_dim_outs=(width, width // 8),
        model_num_class=num_classes,
        head_pool=nn.AdaptiveAvgPool3d,
        head_output_size=((1, 1, 1), (1, 1, 1)),
        dropout_rate=0.5,
    )
    ours = ClipClassifier(
        backbone=SlowFast(depth=depth, stem_width=width),
        num_classes=num_classes,
        pixel_mean=[MEAN] * 3,
        pixel_std=[STD] * 3,
        dropout=0.5,
    )
    state = {}
    for k, v in bare.state_dict().items():  # the same weights (pytorchvideo names -> ours)
        head = k.startswith("blocks.6.")
        state[("cls_score." + k.split(".proj.")[1]) if head else "backbone." + k] = v
    ours.load_state_dict(state)
    return ours, bare


def make_batch(batch: int, t: int, crop: int, num_classes: int):
    g = torch.Generator().manual_seed(1)
    clips = torch.randint(0, 256, (batch, 3, t, crop, crop), generator=g, dtype=torch.uint8)
    labels = (torch.rand(batch, num_classes, generator=g) < 0.1).float()
    dicts = [
        {"clip": clips[i].clone(), "labels": labels[i], "video_id": f"V{i}"} for i in range(batch)
    ]
    x = (clips.float() - MEAN) / STD
    return dicts, x, labels


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}


def timed(fn: Callable[[], None], clock: Callable[[], float]) -> float:
    start = clock()
    fn()
    return clock() - start


def run_variant(
    name: str, iters: int, warmup: int, num_classes: int, clock_name: str
) -> List[Dict]:
    clock = CLOCK[clock_name]
    width, depth, t, crop, batch = VARIANTS[name]
    ours, bare = build_pair(width, depth, num_classes)
    dicts, x, labels = make_batch(batch, t, crop, num_classes)
    alpha = ours.backbone.alpha

    def bare_inputs():  # a fresh list each call: pytorchvideo's forward overwrites it in place
        return [x[:, :, ::alpha], x]

    ours.eval()
    bare.eval()
    with torch.no_grad():
        a = torch.stack([o["scores"] for o in ours(dicts)])
        b = bare(bare_inputs()).sigmoid()
    max_diff = (a - b).abs().max().item()
    assert max_diff < 1e-4, f"{name}: ours and bare differ by {max_diff}"

    opt_ours = torch.optim.SGD(ours.parameters(), lr=1e-4, momentum=0.9)
    opt_bare = torch.optim.SGD(bare.parameters(), lr=1e-4, momentum=0.9)

    def train_ours():
        loss = ours(dicts)["loss_action"]
        opt_ours.zero_grad(set_to_none=True)
        loss.backward()
        opt_ours.step()

    def train_bare():
        loss = F.binary_cross_entropy_with_logits(bare(bare_inputs()), labels)
        opt_bare.zero_grad(set_to_none=True)
        loss.backward()
        opt_bare.step()

    def infer_ours():
        with torch.no_grad():
            ours(dicts)

    def infer_bare():
        with torch.no_grad():
            bare(bare_inputs())

    rows = []
    phases = (("train", train_ours, train_bare), ("infer", infer_ours, infer_bare))
    for phase, f_ours, f_bare in phases:
        for model in (ours, bare):
            model.train(phase == "train")
        times = {"ours": [], "bare": []}
        for i in range(warmup + iters):
            order = [("ours", f_ours), ("bare", f_bare)]
            if i % 2:
                order.reverse()
            for key, fn in order:
                dt = timed(fn, clock)
                if i >= warmup:
                    times[key].append(dt)
        med = {k: statistics.median(v) for k, v in times.items()}
        prep = statistics.median(
            timed(lambda: ours.preprocess_clips(dicts), clock) for _ in range(max(iters, 5))
        )
        rows.append(
            {
                "variant": name,
                "phase": phase,
                "input": f"B{batch} x 3 x {t} x {crop}^2",
                "ours_s": med["ours"],
                "bare_s": med["bare"],
                "ours_clips_per_s": batch / med["ours"],
                "bare_clips_per_s": batch / med["bare"],
                "overhead_pct": 100.0 * (med["ours"] / med["bare"] - 1.0),
                "prep_s": prep,
                "prep_pct": 100.0 * prep / med["bare"],
            }
        )
    return rows


def main() -> List[Dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--num-classes", type=int, default=157)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=list(CLOCK), default="cpu")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.variants:
        rows.extend(run_variant(name, args.iters, args.warmup, args.num_classes, args.clock))
    print(
        f"{cpu_name()}, {args.threads} threads, {args.clock} clock, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(tabulate(rows, headers="keys", floatfmt=".3f"))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()

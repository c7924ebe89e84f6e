"""Scene-graph bank extraction speed versus a plain ``DefaultPredictor`` loop (issue #11).

Usage::

    .venv/bin/python bench/extract_speed.py [--videos 6] [--seconds 10] [--batch-size 8]
        [--num-workers 2] [--device cpu]
        [--config configs/Synthetic/reldn_R_50n_FPN_sgdet_synth.yaml] [--weights W]

Writes a Charades-style world of ``--videos`` JPEG frame folders (``--seconds`` s at 24 fps,
320x180 textured frames like the synthetic world's), then, on the same frames (2 per second) and
the same SGDet model (the config, randomly initialised unless ``--weights`` is given; random
weights cost the same as trained ones, detections kept at score >= 0 so every frame has the
config's ``DETECTIONS_PER_IMAGE`` boxes and their pairs; the frequency bias starts from zeros, as
it does without a statistics file):

1. **baseline**: Detectron2's ``DefaultPredictor`` in a plain loop, one frame at a time: decode the
   frame (``video_io.iter_frames_at_rate``), predict, compute the confidence matrix;
2. **extract**: ``feature_bank.extract`` (batched forwards, decoding in DataLoader workers,
   shards written and consolidated).

3. the same as 2 with batch 1 and no workers (what batching and overlapped decoding add).

``--rounds`` rounds run the three in turn (load from other processes hits them alike); the
medians are reported.

Prints the frames/s, the speed-up and the largest difference between the bank's entries and the
baseline's, and how many entries are non-zero (a random detector may find no person, and then
no pair: the entries are zero and the relation head does no pair work). A warm-up run on one
video precedes the timed runs.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
from detectron2.engine import DefaultPredictor
from PIL import Image

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.config import get_ag_cfg
from ag_detectron.data import video_io
from ag_detectron.feature_bank import FeatureBank
from ag_detectron.feature_bank.extract import (
    EntryRule,
    ExtractOptions,
    SceneGraphProducer,
    extract_bank,
    frame_confidence_matrix,
)
from ag_detectron.utils.machine import cpu_name


def make_world(root: str, videos: int, seconds: float, width: int = 320, height: int = 180):
    rng = np.random.default_rng(0)
    dicts = []
    n = int(round(seconds * 24))
    for v in range(videos):
        vid = f"BENCH{v:02d}"
        d = os.path.join(root, "Charades_v1_rgb", vid)
        os.makedirs(d)
        base = rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR))
        for i in range(1, n + 1):
            Image.fromarray(np.roll(base, 3 * i, axis=1)).save(
                os.path.join(d, f"{vid}-{i:06d}.jpg"), quality=90
            )
        dicts.append({"video_id": vid, "frame_dir": d, "length": n / 24})
    return dicts


def baseline(cfg, dicts, rule: EntryRule, rate: float):
    predictor = DefaultPredictor(cfg)
    rows = {}
    start = time.perf_counter()
    count = 0
    for d in dicts:
        out = []
        for _, rgb in video_io.iter_frames_at_rate(d["frame_dir"], rate, d["video_id"]):
            out.append(frame_confidence_matrix(predictor(rgb[:, :, ::-1]), rule).numpy())
            count += 1
        rows[d["video_id"]] = np.stack(out)
    return count, time.perf_counter() - start, rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="configs/Synthetic/reldn_R_50n_FPN_sgdet_synth.yaml")
    p.add_argument("--weights", default="")
    p.add_argument("--videos", type=int, default=6)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default="")
    args = p.parse_args()

    cfg = get_ag_cfg(
        args.config,
        [
            "MODEL.DEVICE", args.device,
            "MODEL.WEIGHTS", args.weights,
            "MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR", not args.weights,
            "MODEL.ROI_HEADS.SCORE_THRESH_TEST", 0.0,
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE", "",
        ],
    )  # fmt: skip
    root = args.out or tempfile.mkdtemp(prefix="extract_bench_")
    try:
        dicts = make_world(root, args.videos, args.seconds)
        rule = EntryRule()
        opts = ExtractOptions(
            rate=args.rate, batch_size=args.batch_size, num_workers=args.num_workers,
            progress=False, rule=rule,
        )  # fmt: skip
        torch.manual_seed(0)
        producer = SceneGraphProducer(cfg, opts)
        # the baseline uses the very same weights
        predictor_cfg = cfg
        if not args.weights:
            path = os.path.join(root, "random.pth")
            torch.save({"model": producer.model.state_dict()}, path)
            predictor_cfg = get_ag_cfg(args.config, [
                "MODEL.DEVICE", args.device, "MODEL.WEIGHTS", path,
                "MODEL.ROI_HEADS.SCORE_THRESH_TEST", 0.0,
                "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE", "",
            ])  # fmt: skip
        # warm-up (allocator, lazy initialisation) on one video, outside the timings
        baseline(predictor_cfg, dicts[:1], rule, args.rate)
        extract_bank(producer, os.path.join(root, "warm"), dicts[:1], opts)

        # rounds alternate the three methods, so that load from other processes on a shared
        # machine hits them alike; the medians are reported
        plain = ExtractOptions(
            rate=args.rate, batch_size=1, num_workers=0, progress=False, rule=rule
        )
        sec_b, sec_e, sec_1 = [], [], []
        for r in range(args.rounds):
            frames_b, sec, rows_b = baseline(predictor_cfg, dicts, rule, args.rate)
            sec_b.append(sec)
            bank_dir = os.path.join(root, f"bank{r}")
            start = time.perf_counter()
            counts = extract_bank(producer, bank_dir, dicts, opts)
            sec_e.append(time.perf_counter() - start)
            frames_e = counts["entries"]
            # attribution: the same pipeline without batching and without decoding workers
            start = time.perf_counter()
            counts_1 = extract_bank(producer, os.path.join(root, f"bank_b1_{r}"), dicts, plain)
            sec_1.append(time.perf_counter() - start)
            print(f"round {r}: baseline {frames_b / sec_b[-1]:.2f}, extract "
                  f"{frames_e / sec_e[-1]:.2f}, batch 1 {counts_1['entries'] / sec_1[-1]:.2f} "
                  f"frames/s", flush=True)  # fmt: skip
        sec_b, sec_e, sec_1 = (float(np.median(x)) for x in (sec_b, sec_e, sec_1))
        bank = FeatureBank(bank_dir)
        diff, nonzero, total = 0.0, 0, 0
        for d in dicts:
            win = bank.window(d["video_id"], 0.0, _all_spec(len(rows_b[d["video_id"]]), args.rate))
            got = win.entries[win.mask]
            diff = max(diff, float(np.abs(got - rows_b[d["video_id"]]).max()))
            nonzero += int((got != 0).any(axis=1).sum())
            total += len(got)
        print(
            f"machine: {platform.node()} | {cpu_name()} | {os.cpu_count()} CPUs | "
            f"torch {torch.__version__} threads {torch.get_num_threads()} | device {args.device}"
        )
        print(
            f"world: {args.videos} videos x {args.seconds:g} s, 320x180 JPEG, {args.rate:g}/s "
            f"-> {frames_b} frames; model {args.config}"
        )
        print(f"medians of {args.rounds} rounds:")
        print(f"baseline DefaultPredictor loop: {frames_b / sec_b:7.2f} frames/s ({sec_b:.1f} s)")
        print(
            f"extract (batch {args.batch_size}, {args.num_workers} workers): "
            f"{frames_e / sec_e:7.2f} frames/s ({sec_e:.1f} s, incl. writing + consolidation)"
        )
        print(
            f"extract (batch 1, no workers): {counts_1['entries'] / sec_1:7.2f} frames/s "
            f"({sec_1:.1f} s)"
        )
        print(f"speed-up: {(frames_e / sec_e) / (frames_b / sec_b):.2f}x; "
              f"max |entry difference| {diff:.2e} (float16 storage); "
              f"{nonzero} of {total} entries non-zero")  # fmt: skip
    finally:
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)


def _all_spec(n: int, rate: float):
    from ag_detectron.feature_bank import WindowSpec

    # a window from 0 covering every entry: centre at n / (2 rate), span n / rate
    return WindowSpec(size=n, span=2 * n / rate, padding="end")


if __name__ == "__main__":
    sys.exit(main())

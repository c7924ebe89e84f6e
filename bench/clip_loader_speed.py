#!/usr/bin/env python
"""Clips/s of the Charades clip data path (decode + sample + augment), frames vs video files.

Runs, in one process tree on one machine:
1. JPEG decoders on the dataset's own frames: simplejpeg (ours), torchvision.io.decode_jpeg, Pillow;
2. the video decoders that load here (PyAV always; torchcodec when importable) on one clip span;
3. the training loader (``ClipClassificationTask``'s mapper through Detectron2's
   ``build_detection_train_loader``) with ``INPUT.CLIP.SOURCE`` frames / video and 0 / 2 workers.

Without ``--root`` it generates a small synthetic world with ``--videos-mp4`` into ``--work-dir``
(reused when present). Results: docs/benchmarks.md.

Example::

    python bench/clip_loader_speed.py --batches 20
    python bench/clip_loader_speed.py --root datasets/ag_synth --video-dir datasets/ag_synth/videos
"""

import argparse
import glob
import io
import os
import platform
import time
import warnings
from typing import Callable, Dict, List

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.data import build_detection_train_loader

from ag_detectron.config import add_ag_config
from ag_detectron.data import video_io
from ag_detectron.data.clip_mapper import ClipDatasetMapper
from ag_detectron.data.datasets import load_charades


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--root", help="Charades-format root (default: a generated synthetic world)")
    p.add_argument("--video-dir", help="directory of <id>.mp4 (default ROOT/videos)")
    p.add_argument("--work-dir", default="output/bench/clip_loader_synth")
    p.add_argument("--videos", type=int, default=40, help="videos of the generated world")
    p.add_argument("--num-frames", type=int, default=8)
    p.add_argument("--rate", type=int, default=8)
    p.add_argument("--jitter", type=int, nargs=2, default=(128, 160))
    p.add_argument("--crop", type=int, default=112)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--batches", type=int, default=20, help="timed batches per configuration")
    p.add_argument("--workers", type=int, nargs="+", default=(0, 2))
    p.add_argument("--decoders-only", action="store_true", help="skip the loader runs")
    return p.parse_args()


def _best_ms(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return 1e3 * min(times)


def bench_jpeg(root: str) -> Dict[str, Dict[str, float]]:
    from PIL import Image

    files = sorted(glob.glob(os.path.join(root, "Charades_v1_rgb", "*", "*.jpg")))
    files = files[:: max(1, len(files) // 300)][:300]  # spread over the videos
    samples = {"dataset frames": [open(f, "rb").read() for f in files]}
    # textured 320x240 frames (the size of Charades_v1_rgb), JPEG quality 90
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:240, 0:320]
    textured = []
    for _ in range(20):
        img = np.stack([x * 255 / 320, y * 255 / 240, ((x + y) % 64) * 4], -1)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        textured.append(buf.getvalue())
    samples["textured 320x240"] = textured * 10
    warnings.simplefilter("ignore", DeprecationWarning)
    out = {}
    for label, blobs in samples.items():
        out[label] = _bench_jpeg_sample(label, blobs)
    return out


def _bench_jpeg_sample(label: str, blobs: List[bytes]) -> Dict[str, float]:
    import simplejpeg
    from PIL import Image
    from torchvision.io import ImageReadMode, decode_jpeg

    h, w = simplejpeg.decode_jpeg_header(blobs[0])[:2]

    decoders = {
        "simplejpeg (ours)": lambda b: simplejpeg.decode_jpeg(b, colorspace="RGB"),
        "torchvision.io.decode_jpeg": lambda b: decode_jpeg(
            torch.frombuffer(bytearray(b), dtype=torch.uint8), mode=ImageReadMode.RGB
        ),
        "Pillow": lambda b: np.asarray(Image.open(io.BytesIO(b)).convert("RGB")),
    }
    # round-robin repeats, so that load on a shared machine hits every decoder alike
    times: Dict[str, List[float]] = {name: [] for name in decoders}
    for _ in range(7):
        for name, dec in decoders.items():
            t0 = time.perf_counter()
            for b in blobs:
                dec(b)
            times[name].append(1e3 * (time.perf_counter() - t0) / len(blobs))
    out = {name: min(v) for name, v in times.items()}
    print(
        f"\nJPEG decoding, {label}: {len(blobs)} frames of {w}x{h}, "
        f"{np.mean([len(b) for b in blobs]) / 1e3:.1f} kB mean (ms/frame, best of 7 rounds):"
    )
    for name, ms in out.items():
        print(f"  {name:28s} {ms:.3f}")
    return out


def bench_video(video_dir: str, num_frames: int, rate: int) -> None:
    paths = sorted(glob.glob(os.path.join(video_dir, "*.mp4")))[:10]
    frames = 1 + rate * np.arange(num_frames)
    print(f"\nVideo decoding: one {num_frames}x{rate} clip from the start of {len(paths)} videos")
    ms = _best_ms(
        lambda: [video_io.read_video_frames(p, "bench", frames.tolist()) for p in paths], 1, 3
    )
    print(f"  PyAV (video_io.read_video_frames)  {ms / len(paths):.2f} ms/clip")
    try:
        from torchcodec.decoders import VideoDecoder

        times = ((frames - 1) / 24).tolist()
        ms = _best_ms(
            lambda: [VideoDecoder(p).get_frames_played_at(seconds=times) for p in paths], 1, 3
        )
        print(f"  torchcodec get_frames_played_at    {ms / len(paths):.2f} ms/clip")
    except Exception as e:  # not installed, or its FFmpeg libraries do not load
        print(f"  torchcodec unavailable: {type(e).__name__}: {str(e).splitlines()[0][:120]}")


def bench_loader(args, dicts: List[dict], source: str, workers: int) -> float:
    cfg = get_cfg()
    add_ag_config(cfg)
    c = cfg.INPUT.CLIP
    c.NUM_FRAMES, c.SAMPLING_RATE, c.SOURCE = args.num_frames, args.rate, source
    c.VIDEO_DIR = args.video_dir if source == "video" else ""
    c.TRAIN_JITTER_SCALES, c.TRAIN_CROP_SIZE = tuple(args.jitter), args.crop
    loader = build_detection_train_loader(
        dicts,
        mapper=ClipDatasetMapper(cfg, is_train=True),
        total_batch_size=args.batch,
        aspect_ratio_grouping=False,
        num_workers=workers,
    )
    it = iter(loader)
    next(it)  # start-up (worker processes) not timed
    t0 = time.perf_counter()
    for _ in range(args.batches):
        batch = next(it)
        assert batch[0]["clip"].shape[1] == args.num_frames
    return args.batches * args.batch / (time.perf_counter() - t0)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    root = args.root
    if root is None:
        from ag_detectron.data.synthetic import generate

        res = generate(args.work_dir, num_videos=args.videos, videos_mp4=True, exist_ok=True)
        root = res.root
    args.video_dir = args.video_dir or os.path.join(root, "videos")
    dicts = [d for d in load_charades(root, "train") if any(d["labels"])]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}; root {root}: {len(dicts)} labelled train videos"
    )
    bench_jpeg(root)
    bench_video(args.video_dir, args.num_frames, args.rate)
    if args.decoders_only:
        return
    print(
        f"\nTraining loader, {args.num_frames}x{args.rate} clips, jitter {tuple(args.jitter)}, "
        f"crop {args.crop}, batch {args.batch}, {args.batches} batches after one warm-up batch:"
    )
    print("| source | workers | clips/s |\n|---|---|---|")
    for source in ("frames", "video"):
        for workers in args.workers:
            rate = bench_loader(args, dicts, source, workers)
            print(f"| {source} | {workers} | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Generate the synthetic Action Genome / Charades dataset (thin wrapper around
``ag_detectron.data.synthetic.generate``; see docs/synthetic.md).

    python tools/make_synthetic_ag.py --out datasets/ag_synth              # default demo size
    python tools/make_synthetic_ag.py --out /tmp/ag_full --annotations-only  # real-scale, no images
"""

import argparse
import logging
import sys

from ag_detectron.data.synthetic import DEFAULT_NUM_VIDEOS, DEFAULT_OUT_DIR, generate


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default=DEFAULT_OUT_DIR, help="dataset root (default: %(default)s)")
    p.add_argument(
        "--videos",
        type=int,
        default=DEFAULT_NUM_VIDEOS,
        help="number of videos (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="fraction of test videos (default: %(default)s)",
    )
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=180)
    p.add_argument(
        "--annotations-only",
        action="store_true",
        help="only the AG annotation files, at the real dataset's scale (no images)",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="frame keys in --annotations-only mode (default: 288,782 as the release)",
    )
    p.add_argument(
        "--videos-mp4", action="store_true", help="also write videos/<VID>.mp4 at native fps"
    )
    p.add_argument(
        "--charades-long-videos",
        type=int,
        default=0,
        help="extra Charades-only videos of 3-5 shots (15-35 s) for clip models (default: 0)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="rendering processes (default: min(2, #cpu))"
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--exist-ok",
        action="store_true",
        help="do nothing if --out already holds a dataset generated with the same arguments",
    )
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(name)s %(levelname)s: %(message)s"
    )
    res = generate(
        args.out,
        num_videos=args.videos,
        seed=args.seed,
        test_fraction=args.test_fraction,
        width=args.width,
        height=args.height,
        annotations_only=args.annotations_only,
        scale_frames=args.frames,
        videos_mp4=args.videos_mp4,
        charades_long_videos=args.charades_long_videos,
        num_workers=args.workers,
        overwrite=args.overwrite,
        exist_ok=args.exist_ok,
        progress=True,
    )
    print(f"{'reused' if res.reused else 'wrote'} {res.root} in {res.seconds:.1f} s")
    for k, v in res.stats.items():
        print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Time and memory of ``load_action_genome`` on real-scale (synthetic, annotations-only) data.

    python bench/load_annotations.py [--root /tmp/ag_scale] [--split all] [--frames 288782]

1. Generates the full-scale annotations-only set (288,782 frame keys, ~737k object entries,
   ~1.7M relation labels; ``tools/make_synthetic_ag.py --annotations-only``) under ``--root`` unless
   it is already there (never into git: use /tmp or datasets/).
2. In fresh child processes pinned to one core (``sched_setaffinity``, ``OMP_NUM_THREADS=1``):
   ``parse`` = load with the cache disabled; ``fresh`` = load with an empty cache dir (parse + cache
   write, what a first run costs); ``cached`` = load again from that cache.
   Each child reports wall time and CPU time (``process_time``; robust to other processes sharing
   the machine) of the call, its RSS before the call (imports) and its peak RSS
   (``VmHWM`` of /proc/self/status; ``ru_maxrss`` is not used because Linux keeps the parent's peak
   across exec); "peak - before" is the memory the load itself needed.
Targets (issue #3): fresh < 15 s and < 3 GB, cached < 3 s. ``--modes fresh,cached`` skips the
cache-less parse. Results go to docs/benchmarks.md by hand.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from ag_detectron.data.datasets import load_action_genome
def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
root, split, mode, cache = sys.argv[1:5]
before = status_mb("VmRSS")
t, c = time.perf_counter(), time.process_time()
dicts = load_action_genome(root, split, use_cache=(mode != "parse"), cache_dir=cache)
dt, dc = time.perf_counter() - t, time.process_time() - c
# VmHWM (peak RSS of this process image); ru_maxrss would carry over the parent's peak across exec
peak = status_mb("VmHWM")
print(json.dumps({"mode": mode, "seconds": round(dt, 2), "cpu_seconds": round(dc, 2),
                  "load_avg_1m": os.getloadavg()[0], "frames": len(dicts),
                  "rss_before_mb": round(before), "peak_rss_mb": round(peak),
                  "load_peak_mb": round(peak - before)}))
"""


def _run_child(root: str, split: str, mode: str, cache: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, root, split, mode, cache],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "ag_scale"))
    p.add_argument("--split", default="all", help='"train", "test" or "all"')
    p.add_argument(
        "--frames", type=int, default=None, help="frame keys (default: the release's 288,782)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1, help="repeat each measurement, report each run")
    p.add_argument(
        "--modes",
        default="parse,fresh,cached",
        help='comma-separated subset of "parse,fresh,cached" (cached needs fresh before it)',
    )
    args = p.parse_args(argv)

    from ag_detectron.data.synthetic import generate

    t = time.perf_counter()
    res = generate(
        args.root,
        annotations_only=True,
        scale_frames=args.frames,
        seed=args.seed,
        exist_ok=True,
        overwrite=True,
        progress=False,
    )
    gen_s = time.perf_counter() - t
    ann = os.path.join(args.root, "annotations")
    sizes = {f: os.path.getsize(os.path.join(ann, f)) for f in sorted(os.listdir(ann))}
    print(
        json.dumps(
            {
                "generate_seconds": round(gen_s, 1),
                "reused": res.reused,
                "stats": res.stats,
                "file_bytes": sizes,
            },
            indent=1,
        )
    )
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, python {platform.python_version()}"
    )
    results = []
    for _ in range(args.repeat):
        cache = tempfile.mkdtemp(prefix="ag_cache_bench_")
        try:
            for mode in args.modes.split(","):
                r = _run_child(args.root, args.split, mode, cache)
                r["cache_bytes"] = sum(
                    os.path.getsize(os.path.join(cache, f)) for f in os.listdir(cache)
                )
                results.append(r)
                print(json.dumps(r))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

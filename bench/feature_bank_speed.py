"""Feature-bank size on disk and window read time at the real dataset's scale (issue #11).

Usage::

    .venv/bin/python bench/feature_bank_speed.py [--out /tmp/fbank_bench] [--videos 9848]
        [--entries 600000] [--dim 910] [--windows 2000] [--keep]

Writes a bank of ``--entries`` entries of ``--dim`` float16 values over ``--videos`` videos (per
video 2 entries/s; lengths drawn so the total is exact) with the project's own writer
(``FeatureBankWriter``: one atomic shard per video, fsync on), consolidates it, then, in a fresh
child process, opens the bank and reads ``--windows`` random windows (20 entries = +-5 s, LFB's
default) twice: "cold" after asking the kernel to drop the bank file's cached pages
(``posix_fadvise(DONTNEED)``) and "warm". It also reads the same windows from the per-video shards
(``np.load`` of the video's .npz) for comparison. Prints the numbers; the reader's resident memory
(anonymous vs. file-backed pages, from ``/proc/self/status``) shows the bank is not loaded.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

from ag_detectron.feature_bank import BankProvenance, FeatureBank, FeatureBankWriter, consolidate
from ag_detectron.feature_bank.storage import INDEX_FILE, SHARD_DIR
from ag_detectron.utils.machine import cpu_name


def _dir_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _counts(num_videos: int, num_entries: int, rng: np.random.Generator) -> np.ndarray:
    """Entries per video: Charades-like lengths (12..60 s at 2/s), scaled to sum exactly."""
    raw = rng.uniform(24, 120, size=num_videos)
    counts = np.floor(raw / raw.sum() * num_entries).astype(np.int64)
    counts[: num_entries - counts.sum()] += 1
    return counts


def write_bank(args) -> dict:
    rng = np.random.default_rng(args.seed)
    counts = _counts(args.videos, args.entries, rng)
    prov = BankProvenance(
        kind="scene_graph",
        dim=args.dim,
        rate=2.0,
        vocabulary={"feature_dim": args.dim},
        producer_config_hash="bench",
        weights_hash="bench",
    )
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    writer = FeatureBankWriter(args.out, prov)
    gen_s = 0.0
    t0 = time.perf_counter()
    for i, n in enumerate(counts):
        g0 = time.perf_counter()
        # confidence-matrix-like: mostly zeros, a few values in (0, 1)
        entries = rng.random((int(n), args.dim), dtype=np.float32)
        entries[entries < 0.9] = 0.0
        times = np.arange(n) / 2.0
        gen_s += time.perf_counter() - g0
        writer.write(f"V{i:05d}", times, entries)
    write_s = time.perf_counter() - t0 - gen_s
    t0 = time.perf_counter()
    consolidate(args.out)
    consolidate_s = time.perf_counter() - t0
    index = json.load(open(os.path.join(args.out, INDEX_FILE)))
    return {
        "write_shards_s": write_s,
        "generate_s": gen_s,
        "consolidate_s": consolidate_s,
        "entries_bytes": os.path.getsize(os.path.join(args.out, index["entries_file"])),
        "times_bytes": os.path.getsize(os.path.join(args.out, index["times_file"])),
        "index_bytes": os.path.getsize(os.path.join(args.out, INDEX_FILE)),
        "shards_bytes": _dir_size(os.path.join(args.out, SHARD_DIR)),
    }


def _evict(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _rss_mb() -> dict:
    """Current anonymous (allocated) and file-backed (mapped pages) resident memory, MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    return out


def read_bank(args) -> dict:
    """Runs in a fresh process: open the bank, time windows, report resident memory."""
    rss0 = _rss_mb()
    index = json.load(open(os.path.join(args.out, INDEX_FILE)))
    for name in (index["entries_file"], index["times_file"]):
        _evict(os.path.join(args.out, name))
    t0 = time.perf_counter()
    bank = FeatureBank(args.out)
    open_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed + 1)
    vids = rng.choice(bank.videos, size=args.windows)
    centres = [rng.uniform(0, bank.duration(v)) for v in vids]
    out = {"open_s": open_s}
    for label in ("cold", "warm"):
        times = []
        for v, c in zip(vids, centres):
            t0 = time.perf_counter()
            w = bank.window(v, c)
            times.append(time.perf_counter() - t0)
        assert w.entries.shape == (20, bank.dim)
        out[f"window_{label}_ms"] = (
            1e3 * float(np.median(times)),
            1e3 * float(np.percentile(times, 95)),
        )
    times = []
    for i in range(0, args.windows, 16):
        t0 = time.perf_counter()
        bank.windows(list(vids[i : i + 16]), centres[i : i + 16])
        times.append(time.perf_counter() - t0)
    out["batch16_warm_ms"] = (1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 95)))
    shard_dir = os.path.join(args.out, SHARD_DIR)
    times = []
    for v, c in zip(vids[:500], centres[:500]):
        t0 = time.perf_counter()
        with np.load(os.path.join(shard_dir, v + ".npz")) as z:
            t = z["times"]
            sel = (t >= c - 5) & (t < c + 5)
            _ = z["entries"][sel].astype(np.float32)
        times.append(time.perf_counter() - t0)
    out["shard_npz_window_ms"] = (
        1e3 * float(np.median(times)),
        1e3 * float(np.percentile(times, 95)),
    )
    out["rss_before_open_mb"] = rss0
    out["rss_after_reads_mb"] = _rss_mb()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/fbank_bench")
    p.add_argument("--videos", type=int, default=9848)
    p.add_argument("--entries", type=int, default=600_000)
    p.add_argument("--dim", type=int, default=910)
    p.add_argument("--windows", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the bank directory")
    p.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.read_only:
        print(json.dumps(read_bank(args)))
        return
    print(
        f"machine: {platform.node()} {cpu_name()} x{os.cpu_count()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    w = write_bank(args)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--read-only",
            "--out",
            args.out,
            "--windows",
            str(args.windows),
            "--seed",
            str(args.seed),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    r = json.loads(child.stdout.strip().splitlines()[-1])
    mb = 1024 * 1024
    print(f"bank: {args.videos} videos, {args.entries} entries x {args.dim} float16")
    print(
        f"write {args.videos} shards (fsync): {w['write_shards_s']:.1f} s "
        f"(+ {w['generate_s']:.1f} s generating data); consolidate: {w['consolidate_s']:.1f} s"
    )
    print(
        f"on disk: entries {w['entries_bytes'] / mb:.1f} MiB, times {w['times_bytes'] / mb:.1f} "
        f"MiB, index {w['index_bytes'] / 1024:.0f} KiB; shards {w['shards_bytes'] / mb:.1f} MiB "
        f"(deletable after consolidation)"
    )
    a, b = r["rss_before_open_mb"], r["rss_after_reads_mb"]
    print(
        f"open: {r['open_s'] * 1e3:.1f} ms; reader process resident memory before open / after "
        f"all reads: anonymous {a['RssAnon']:.0f} / {b['RssAnon']:.0f} MiB, file-backed "
        f"{a['RssFile']:.0f} / {b['RssFile']:.0f} MiB"
    )
    for key in ("window_cold_ms", "window_warm_ms", "batch16_warm_ms", "shard_npz_window_ms"):
        med, p95 = r[key]
        print(f"{key}: median {med:.3f} ms, p95 {p95:.3f} ms")
    if not args.keep:
        shutil.rmtree(args.out)


if __name__ == "__main__":
    main()

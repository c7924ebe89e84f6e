#!/usr/bin/env python
"""Extract the Action Genome frames listed in ``frame_list.txt`` from the Charades 480p videos
(decoded by ``ag_detectron.data.video_io``, PyAV).

Output names match the official toolkit: ``<frames>/<VIDEO_ID>.mp4/<NNNNNN>.png``, 1-based indices
at the video's native frame rate (frame i = the i-th decoded frame; equal to ffmpeg's ``%06d.png``
numbering for constant-frame-rate videos). Also writes the per-video fps table
``annotations/video_fps.json`` (``{"VIDEO_ID": fps}``, the container's average frame rate) that
``ag_frame_to_seconds`` needs.

Resumable: frames already on disk are skipped, every PNG is written to a temporary name and renamed,
    and a
video whose listed frames all exist is not decoded again. At the end a summary lists missing videos,
unreadable videos and videos shorter than a listed frame; the exit code is 1 if any, unless
``--allow-missing``.

Example::

    python tools/dump_frames.py --root $AG_DATASETS/action_genome            # videos in ROOT/videos
    python tools/dump_frames.py --root ROOT --videos-dir /data/Charades_v1_480 --all-frames
"""

import argparse
import json
import logging
import os
import sys
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Set

from PIL import Image
from tqdm import tqdm

from ag_detectron.data import video_io
from ag_detectron.errors import DatasetFormatError

logger = logging.getLogger("dump_frames")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--root", required=True, help="AG root (annotations/, videos/, frames/)")
    p.add_argument("--videos-dir", help="directory of <VIDEO_ID>.mp4 (default ROOT/videos)")
    p.add_argument("--frames-dir", help="output directory (default ROOT/frames)")
    p.add_argument("--frame-list", help="default ROOT/annotations/frame_list.txt")
    p.add_argument("--fps-file", help="default ROOT/annotations/video_fps.json")
    p.add_argument(
        "--all-frames", action="store_true", help="write every frame, not only the listed ones"
    )
    p.add_argument(
        "--allow-missing", action="store_true", help="exit 0 even if videos are missing/unreadable"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def read_frame_list(path: str) -> "OrderedDict[str, Set[int]]":
    """``{"<VID>.mp4": {1-based frame numbers}}`` from ``frame_list.txt`` lines
    ``<VID>.mp4/<NNNNNN>.png``."""
    wanted: "OrderedDict[str, Set[int]]" = OrderedDict()
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            video, _, frame = line.partition("/")
            if not (video.endswith(".mp4") and frame.endswith(".png") and frame[:-4].isdigit()):
                raise SystemExit(
                    f"{path}: line {lineno} {line!r} is not '<VIDEO_ID>.mp4/<NNNNNN>.png'"
                )
            wanted.setdefault(video, set()).add(int(frame[:-4]))
    return wanted


def _save_png(image, path: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".png", dir=os.path.dirname(path))
    os.close(fd)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def dump_video(video_path: str, out_dir: str, frames: Optional[Set[int]]) -> Dict[str, object]:
    """Decode one video and write the requested 1-based frames (all if ``frames`` is None).

    Returns
    ``{"fps": float, "written": int, "decoded": int, "beyond_end": [frame numbers not reached]}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    todo = (
        None
        if frames is None
        else {n for n in frames if not os.path.exists(os.path.join(out_dir, f"{n:06d}.png"))}
    )
    video_id = os.path.basename(video_path)
    fps = video_io.probe_video(video_path, video_id).fps
    written = decoded = 0
    if todo is None or todo:
        last = None if todo is None else max(todo)
        for index, rgb in video_io.iter_video_frames(video_path, video_id, last=last):
            decoded = index
            if todo is None or index in todo:
                path = os.path.join(out_dir, f"{index:06d}.png")
                if todo is not None or not os.path.exists(path):
                    _save_png(Image.fromarray(rgb), path)
                    written += 1
    beyond = sorted(n for n in (todo or ()) if n > decoded)
    return {"fps": fps, "written": written, "decoded": decoded, "beyond_end": beyond}


def _write_fps(path: str, table: Dict[str, float]) -> None:
    merged = {}
    if os.path.isfile(path):
        with open(path, "r", encoding="utf-8") as f:
            merged = json.load(f)
    merged.update(table)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".json", dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(dict(sorted(merged.items())), f, indent=0)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    videos_dir = args.videos_dir or os.path.join(args.root, "videos")
    frames_dir = args.frames_dir or os.path.join(args.root, "frames")
    frame_list = args.frame_list or os.path.join(args.root, "annotations", "frame_list.txt")
    fps_file = args.fps_file or os.path.join(args.root, "annotations", "video_fps.json")
    wanted = read_frame_list(frame_list)
    missing, unreadable, short = [], {}, {}
    fps_table: Dict[str, float] = {}
    written = 0
    bar = tqdm(wanted.items(), total=len(wanted), unit="video", disable=args.quiet)
    for video, frames in bar:
        bar.set_postfix_str(video)
        video_path = os.path.join(videos_dir, video)
        if not os.path.isfile(video_path):
            missing.append(video)
            continue
        try:
            stats = dump_video(
                video_path, os.path.join(frames_dir, video), None if args.all_frames else frames
            )
        except (DatasetFormatError, OSError) as e:
            unreadable[video] = f"{type(e).__name__}: {e}"
            continue
        written += stats["written"]
        fps_table[video[: -len(".mp4")]] = stats["fps"]
        if stats["beyond_end"]:
            short[video] = stats["beyond_end"]
    _write_fps(fps_file, fps_table)
    logger.info(
        f"{len(wanted)} videos in {frame_list}: wrote {written} frames under {frames_dir}; fps of "
        f"{len(fps_table)} videos in {fps_file}; {len(missing)} missing, {len(unreadable)} "
        f"unreadable, {len(short)} shorter than a listed frame"
    )
    for video in missing:
        logger.warning(f"missing video: {os.path.join(videos_dir, video)}")
    for video, why in unreadable.items():
        logger.warning(f"unreadable video: {os.path.join(videos_dir, video)} ({why})")
    for video, frames in short.items():
        logger.warning(
            f"video {video} ends before listed frames "
            f"{frames[:5]}{' ...' if len(frames) > 5 else ''}"
        )
    problems = len(missing) + len(unreadable) + len(short)
    return 1 if problems and not args.allow_missing else 0


if __name__ == "__main__":
    sys.exit(main())

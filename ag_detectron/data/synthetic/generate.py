"""``generate()``: write a synthetic Action Genome + Charades dataset in the release formats.

Layout under ``out_dir`` (see docs/synthetic.md)::

    annotations/{person_bbox.pkl, object_bbox_and_relationship.pkl, frame_list.txt,
                 object_classes.txt, relationship_classes.txt, video_fps.json}
    frames/<VID>.mp4/<NNNNNN>.png                    AG-sampled frames, native fps, 1-based
    Charades_v1_{train,test}.csv, Charades_v1_classes.txt
    Charades_v1_rgb/<VID>/<VID>-NNNNNN.jpg           every frame at 24 fps, 1-based
    videos/<VID>.mp4                                 only with videos_mp4=True (native fps)
    generation.json                                  parameters and counts of this run

The output is a pure function of the arguments (byte-identical files for the same seed and
arguments, whatever ``num_workers``). Everything is written to a temporary sibling directory that is
renamed into place at the end, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import writer
from .actions import ACTION_CLASSES
from .annotate import FrameRecord, annotate_video
from .kinematics import object_placements, person_pose
from .long_videos import LongTask, long_video_ids, process_long_video
from .render import VideoRenderer
from .scene import Video
from .world import script_video

__all__ = [
    "DEFAULT_NUM_VIDEOS",
    "DEFAULT_OUT_DIR",
    "GenerateResult",
    "generate",
    "video_ids",
    "split_of",
    "script_and_annotate",
]

logger = logging.getLogger(__name__)

DEFAULT_NUM_VIDEOS = 280
DEFAULT_OUT_DIR = os.path.join("datasets", "ag_synth")
GENERATOR_VERSION = (
    3  # bump whenever the world or the files change, so exist_ok never reuses stale data
)
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class GenerateResult(NamedTuple):
    """What :func:`generate` wrote (also stored in ``generation.json``)."""

    root: str
    params: Dict[str, Any]
    stats: Dict[str, int]
    seconds: float
    reused: bool


def video_ids(num_videos: int, seed: int) -> List[str]:
    """``num_videos`` distinct 5-character ids (Charades style), deterministic for ``seed``."""
    rng = np.random.default_rng([seed, 0xA6])
    ids: List[str] = []
    seen = set()
    while len(ids) < num_videos:
        vid = "".join(_ID_ALPHABET[i] for i in rng.integers(len(_ID_ALPHABET), size=5))
        if vid not in seen:
            seen.add(vid)
            ids.append(vid)
    return ids


def split_of(num_videos: int, test_fraction: float, seed: int, stream: int = 0) -> List[str]:
    """Per-video split ("train"/"test"): round(N * f) test videos, >= 1 of each when N >= 2.

    ``stream`` selects an independent draw (0: the base videos; long videos use their own)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    n_test = int(round(num_videos * test_fraction))
    if num_videos >= 2 and 0.0 < test_fraction < 1.0:
        n_test = min(max(n_test, 1), num_videos - 1)
    key = [seed, 0x5B] if stream == 0 else [seed, 0x5B, stream]
    order = np.random.default_rng(key).permutation(num_videos)
    test = set(order[:n_test].tolist())
    return ["test" if i in test else "train" for i in range(num_videos)]


class _Task(NamedTuple):
    index: int
    vid: str
    split: str
    seed: int
    width: int
    height: int
    root: str
    images: bool
    videos_mp4: bool


def _charades_row(v: Video, rng: np.random.Generator) -> Dict[str, str]:
    descs = [ACTION_CLASSES[a.cls].description for a in v.actions]
    script = " ".join(f"A person is {d[0].lower() + d[1:]}." for d in descs)
    q = "" if rng.random() < 0.03 else str(int(rng.integers(4, 8)))
    r = "" if rng.random() < 0.05 else str(int(rng.integers(4, 8)))
    return {
        "id": v.vid,
        "subject": "".join(_ID_ALPHABET[i] for i in rng.integers(10, 36, size=4)),
        "scene": v.scene,
        "quality": q,
        "relevance": r,
        "verified": "Yes" if rng.random() < 0.9 else "No",
        "script": script,
        "objects": ";".join(sorted({o.name for o in v.objects})),
        "descriptions": ";".join(descs),
        "actions": ";".join(f"c{a.cls:03d} {a.start:.2f} {a.end:.2f}" for a in v.actions),
        "length": f"{v.length:.2f}",
    }


def _state_key(pose, placements) -> tuple:
    """Everything the renderer draws, as a hashable value (equal keys give identical frames)."""
    if pose is None:
        return (None, tuple(placements))
    return (pose.joints.tobytes(), pose.facing, pose.holding_pen, tuple(placements))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _render_cached(v: Video, renderer: VideoRenderer, times: Sequence[float]):
    """Yield the frames at ``times``, re-drawing only when the drawn state changes."""
    last_key, img = None, None
    for t in times:
        pose = person_pose(v, t)
        placements = object_placements(v, t, pose)
        key = _state_key(pose, placements)
        if key != last_key:
            img, last_key = renderer.render(t, pose, placements), key
        yield img


def script_and_annotate(
    seed: int, index: int, vid: str, split: str, width: int, height: int
) -> Tuple[Video, List[FrameRecord]]:
    """The scripted video number ``index`` of a dataset generated with ``seed`` and its AG records.

    Each video draws from its own generators (one for the script, one for the annotation jitter),
    so any single video can be re-derived without the others (used by :mod:`.drawn`).
    """
    v = script_video(np.random.default_rng([seed, index, 0]), vid, split)
    return v, annotate_video(v, width, height, np.random.default_rng([seed, index, 1]))


def _process_video(task: _Task) -> Tuple[Video, List[FrameRecord], Dict[str, str], int]:
    """Script, annotate and render one video. Returns (video, records, csv row, #jpgs)."""
    v, records = script_and_annotate(
        task.seed, task.index, task.vid, task.split, task.width, task.height
    )
    row = _charades_row(v, np.random.default_rng([task.seed, task.index, 2]))
    n_jpg = 0
    if task.images:
        renderer = VideoRenderer(v, task.width, task.height)
        fdir = os.path.join(task.root, "frames", f"{v.vid}.mp4")
        os.makedirs(fdir, exist_ok=True)
        for rec in records:
            pose = person_pose(v, rec.t)
            if rec.person.bbox.shape[0] == 0:
                pose = None
            img = renderer.render(rec.t, pose, object_placements(v, rec.t, pose))
            with open(os.path.join(fdir, f"{rec.frame:06d}.png"), "wb") as f:
                f.write(writer.encode_png(img))
        cdir = os.path.join(task.root, "Charades_v1_rgb", v.vid)
        os.makedirs(cdir, exist_ok=True)
        last_key, last_path = None, ""
        for i in range(v.num_charades_frames()):
            t = i / 24.0
            pose = person_pose(v, t)
            placements = object_placements(v, t, pose)
            key = _state_key(pose, placements)
            path = os.path.join(cdir, f"{v.vid}-{i + 1:06d}.jpg")
            # ~70 % of the frames repeat the previous one (nothing moves): hard-link its file
            # instead of encoding and writing it again (same bytes; plain copy where links fail)
            if key == last_key:
                _link_or_copy(last_path, path)
            else:
                with open(path, "wb") as f:
                    f.write(writer.encode_jpeg(renderer.render(t, pose, placements)))
                last_key, last_path = key, path
            n_jpg += 1
        if task.videos_mp4:
            os.makedirs(os.path.join(task.root, "videos"), exist_ok=True)
            frames = _render_cached(v, renderer, [i / v.fps for i in range(v.num_native_frames())])
            writer.write_mp4(
                os.path.join(task.root, "videos", f"{v.vid}.mp4"),
                frames,
                v.fps,
                task.width,
                task.height,
            )
    return v, records, row, n_jpg


def _write_annotations(
    root: str,
    results: Sequence[Tuple[Video, List[FrameRecord], Dict[str, str], int]],
    width: int,
    height: int,
    long_results: Sequence[Tuple[Any, Dict[str, str], int]] = (),
) -> Dict[str, int]:
    ann = os.path.join(root, "annotations")
    os.makedirs(ann, exist_ok=True)
    persons: Dict[str, Dict[str, Any]] = {}
    objects: Dict[str, List[Dict[str, Any]]] = {}
    stats = {
        "videos": 0,
        "train_videos": 0,
        "test_videos": 0,
        "frames": 0,
        "train_frames": 0,
        "test_frames": 0,
        "frames_without_person": 0,
        "objects": 0,
        "visible_objects": 0,
        "relations": 0,
        "charades_frames": 0,
    }
    fps: Dict[str, float] = {}
    rows = {"train": [], "test": []}
    for v, records, row, n_jpg in sorted(results, key=lambda r: r[0].vid):
        stats["videos"] += 1
        stats[f"{v.split}_videos"] += 1
        stats["charades_frames"] += n_jpg
        fps[v.vid] = v.fps
        rows[v.split].append(row)
        for rec in records:
            key = writer.frame_key(v.vid, rec.frame)
            persons[key] = writer.person_entry(rec, width, height)
            objects[key] = writer.object_entries(rec, v.split)
            stats["frames"] += 1
            stats[f"{v.split}_frames"] += 1
            stats["frames_without_person"] += int(rec.person.bbox.shape[0] == 0)
            for o in rec.objects:
                stats["objects"] += 1
                if o.bbox is not None:
                    stats["visible_objects"] += 1
                    stats["relations"] += len(o.attention) + len(o.spatial) + len(o.contacting)
    if long_results:  # Charades-only long videos (long_videos.py): CSV rows and frames only
        stats["charades_long_videos"] = len(long_results)
        stats["charades_long_frames"] = 0
        for lv, row, n_jpg in long_results:
            stats["charades_frames"] += n_jpg
            stats["charades_long_frames"] += n_jpg
            rows[lv.split].append(row)
        for split in rows:
            rows[split].sort(key=lambda r: r["id"])
    writer.write_pickle(os.path.join(ann, "person_bbox.pkl"), persons)
    writer.write_pickle(os.path.join(ann, "object_bbox_and_relationship.pkl"), objects)
    writer.write_frame_list(os.path.join(ann, "frame_list.txt"), list(objects))
    writer.copy_class_files(ann)
    writer.write_video_fps(os.path.join(ann, "video_fps.json"), fps)
    writer.write_charades_csv(os.path.join(root, "Charades_v1_train.csv"), rows["train"])
    writer.write_charades_csv(os.path.join(root, "Charades_v1_test.csv"), rows["test"])
    writer.write_charades_classes(
        os.path.join(root, "Charades_v1_classes.txt"), [a.description for a in ACTION_CLASSES]
    )
    return stats


def _read_generation(root: str) -> Optional[Dict[str, Any]]:
    try:
        with open(os.path.join(root, "generation.json"), "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def _remove_stale_tmp(parent: str, name: str) -> None:
    """Delete ``.<name>.tmp-<pid>`` / ``<name>.old-<pid>`` of killed runs (pid no longer alive)."""
    for entry in os.listdir(parent):
        for prefix in (f".{name}.tmp-", f"{name}.old-"):
            if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
                pid = int(entry[len(prefix) :])
                try:
                    os.kill(pid, 0)
                    alive = True
                except ProcessLookupError:
                    alive = False
                except PermissionError:
                    alive = True
                if not alive:
                    logger.info(f"removing {entry}, left by an interrupted run (pid {pid})")
                    shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _replace_dir(tmp: str, out: str) -> None:
    if os.path.exists(out):
        old = f"{out}.old-{os.getpid()}"
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


def generate(
    out_dir: str = DEFAULT_OUT_DIR,
    *,
    num_videos: int = DEFAULT_NUM_VIDEOS,
    seed: int = 0,
    test_fraction: float = 0.2,
    width: int = 320,
    height: int = 180,
    annotations_only: bool = False,
    scale_frames: Optional[int] = None,
    videos_mp4: bool = False,
    charades_long_videos: int = 0,
    num_workers: Optional[int] = None,
    overwrite: bool = False,
    exist_ok: bool = False,
    progress: bool = False,
) -> GenerateResult:
    """Generate the synthetic dataset under ``out_dir`` (see the module docstring for the layout).

    Args:
        out_dir: dataset root (``$AG_DATASETS/ag_synth`` is where the builtin ``ag_synth_*`` /
            ``charades_synth_*`` datasets look).
        num_videos: number of scripted, rendered videos (default 280: ~2,000 train / ~500 test
            frames).
        seed: everything is a pure function of (seed, arguments).
        test_fraction: fraction of videos in the test split (per video).
        width, height: frame size in pixels (``bbox_size``); the world is drawn for 320x180 and
            scaled.
        annotations_only: write only the AG annotation files at the real dataset's scale
            (:mod:`.scale`; ``scale_frames`` frame keys, default 288,782); no images, no Charades
            files.
        scale_frames: number of frame keys in ``annotations_only`` mode.
        videos_mp4: also write ``videos/<VID>.mp4`` at each video's native fps (PyAV, H.264).
        charades_long_videos: additional Charades-only videos of 3-5 scripted shots each
            (15-35 s; :mod:`.long_videos`), split with ``test_fraction``; 0 (default) writes none
            and leaves ``generation.json`` as before. The base world's files do not change.
        num_workers: processes rendering videos (default: min(2, cpu count)); the files do not
            depend on it.
        overwrite: replace an existing ``out_dir``.
        exist_ok: if ``out_dir`` already holds a dataset generated with identical arguments,
            return it.
        progress: show a tqdm progress bar.

    Returns:
        :class:`GenerateResult` with the parameters, the counts (videos, frames, objects,
            relations, ...)
        and the wall time.

    Raises:
        FileExistsError: ``out_dir`` exists and neither ``overwrite`` nor a matching ``exist_ok``.
    """
    start = time.perf_counter()
    out = os.path.abspath(out_dir)
    params: Dict[str, Any] = {
        "version": GENERATOR_VERSION,
        "num_videos": int(num_videos),
        "seed": int(seed),
        "test_fraction": float(test_fraction),
        "width": int(width),
        "height": int(height),
        "annotations_only": bool(annotations_only),
        "videos_mp4": bool(videos_mp4),
    }
    if charades_long_videos:
        if annotations_only or charades_long_videos < 0:
            raise ValueError(
                f"charades_long_videos={charades_long_videos}: expected >= 0, and 0 with "
                "annotations_only"
            )
        params["charades_long_videos"] = int(charades_long_videos)
    if annotations_only:
        from .scale import REAL_NUM_FRAMES

        params["scale_frames"] = int(scale_frames or REAL_NUM_FRAMES)
    if os.path.exists(out):
        prev = _read_generation(out)
        if exist_ok and prev is not None and prev.get("params") == params:
            logger.info(f"{out}: synthetic dataset with identical parameters exists; reusing it")
            return GenerateResult(out, params, prev["stats"], 0.0, True)
        if not overwrite:
            raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos}")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    _remove_stale_tmp(parent, os.path.basename(out))
    tmp = os.path.join(parent, f".{os.path.basename(out)}.tmp-{os.getpid()}")
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    try:
        if annotations_only:
            from .scale import write_annotations_at_scale

            stats = write_annotations_at_scale(
                tmp, params["scale_frames"], seed, width, height, progress
            )
        else:
            stats = _generate_videos(tmp, params, num_workers, progress)
        with open(os.path.join(tmp, "generation.json"), "w", encoding="utf-8", newline="") as f:
            json.dump(
                {"generator": "ag_detectron.data.synthetic", "params": params, "stats": stats},
                f,
                indent=1,
                sort_keys=True,
            )
            f.write("\n")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    logger.info(f"Wrote synthetic Action Genome to {out} in {seconds:.1f} s: {stats}")
    return GenerateResult(out, params, stats, seconds, False)


def _generate_videos(
    root: str, params: Dict[str, Any], num_workers: Optional[int], progress: bool
) -> Dict[str, int]:
    n, seed = params["num_videos"], params["seed"]
    ids = video_ids(n, seed)
    splits = split_of(n, params["test_fraction"], seed)
    tasks = [
        _Task(
            i,
            ids[i],
            splits[i],
            seed,
            params["width"],
            params["height"],
            root,
            True,
            params["videos_mp4"],
        )
        for i in range(n)
    ]
    workers = num_workers if num_workers is not None else min(2, os.cpu_count() or 1)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="synthetic videos", unit="video")
    num_long = params.get("charades_long_videos", 0)
    long_tasks = [
        LongTask(j, vid, split, seed, params["width"], params["height"], root, params["videos_mp4"])
        for j, (vid, split) in enumerate(
            zip(
                long_video_ids(num_long, seed, ids),
                split_of(num_long, params["test_fraction"], seed, stream=0x10C),
            )
        )
    ]
    if bar:
        bar.total = n + num_long
        bar.refresh()
    jobs = [(_process_video, t) for t in tasks] + [(process_long_video, t) for t in long_tasks]
    results = []
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            results.append(_run_job(job))
            if bar:
                bar.update(1)
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(_run_job, jobs, chunksize=1):
                results.append(r)
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    return _write_annotations(
        root, results[:n], params["width"], params["height"], long_results=results[n:]
    )


def _run_job(job):
    fn, task = job
    return fn(task)

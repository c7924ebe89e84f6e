"""Long Charades-only videos: several scripted shots in a row (docs/synthetic.md, "Long videos").

A scripted video of the base world lasts 4.5-7 s with overlapping actions, so a 2-5 s clip sees
most of it. A *long video* is ``3..5`` independently scripted shots (:func:`~.world.script_video`)
played one after the other in the same room colour and shirt: 15-35 s with actions at different
times, so a clip sees a fraction of the video and the video-level label is the union of actions
the clip may not contain (as in real Charades, ~30 s per video). The furniture changes at each cut.

Long videos exist only in the Charades files (CSV rows and ``Charades_v1_rgb`` frames, and
``videos/<id>.mp4`` with ``videos_mp4``); they have no Action Genome annotations, like the Charades
videos outside Action Genome. Every random draw comes from generators of their own
(``default_rng([seed, 0x10C, j, ...])``), and their ids are drawn after the base ids and distinct
from them, so adding long videos leaves every file of the base world byte-identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, NamedTuple, Sequence, Tuple

import numpy as np

from . import writer
from .kinematics import object_placements, person_pose
from .render import VideoRenderer
from .scene import ActionSpan, Video
from .world import script_video

__all__ = ["MIN_SHOTS", "MAX_SHOTS", "LongVideo", "long_video_ids", "script_long_video"]

MIN_SHOTS, MAX_SHOTS = 3, 5
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class LongVideo:
    """Shots played back to back: shot ``k`` covers
    ``[offsets[k], offsets[k] + shots[k].length)``."""

    vid: str
    split: str
    shots: List[Video]
    offsets: List[float]

    @property
    def length(self) -> float:
        return round(self.offsets[-1] + self.shots[-1].length, 2)

    @property
    def fps(self) -> int:
        return self.shots[0].fps

    @property
    def scene(self) -> str:
        return self.shots[0].scene

    @property
    def actions(self) -> List[ActionSpan]:
        """Every shot's actions on the long video's timeline, sorted by (start, class)."""
        out = [
            replace(a, start=round(a.start + off, 2), end=round(a.end + off, 2))
            for v, off in zip(self.shots, self.offsets)
            for a in v.actions
        ]
        return sorted(out, key=lambda a: (a.start, a.cls))

    @property
    def objects(self) -> list:
        return [o for v in self.shots for o in v.objects]

    def num_charades_frames(self) -> int:
        return max(1, int(self.length * 24 + 1e-6))

    def shot_at(self, t: float) -> Tuple[int, float]:
        """(shot index, time inside the shot) of time ``t``; the last shot holds its end."""
        k = int(np.searchsorted(self.offsets, t, side="right")) - 1
        k = min(max(k, 0), len(self.shots) - 1)
        return k, min(t - self.offsets[k], self.shots[k].length)


def long_video_ids(num: int, seed: int, taken: Sequence[str]) -> List[str]:
    """``num`` distinct 5-character ids, none in ``taken`` (the base world's ids)."""
    rng = np.random.default_rng([seed, 0x10C])
    seen = set(taken)
    ids: List[str] = []
    while len(ids) < num:
        vid = "".join(_ID_ALPHABET[i] for i in rng.integers(len(_ID_ALPHABET), size=5))
        if vid not in seen:
            seen.add(vid)
            ids.append(vid)
    return ids


def script_long_video(seed: int, index: int, vid: str, split: str) -> LongVideo:
    """Long video number ``index``: ``MIN_SHOTS..MAX_SHOTS`` shots, one generator per shot."""
    rng = np.random.default_rng([seed, 0x10C, index])
    num_shots = int(rng.integers(MIN_SHOTS, MAX_SHOTS + 1))
    shots: List[Video] = []
    for k in range(num_shots):
        v = script_video(np.random.default_rng([seed, 0x10C, index, k]), vid, split)
        if shots:  # one room colour, one person (shirt) and one frame rate per long video
            v.scene, v.shirt, v.fps = shots[0].scene, shots[0].shirt, shots[0].fps
        shots.append(v)
    offsets = np.cumsum([0.0] + [v.length for v in shots[:-1]]).round(2).tolist()
    return LongVideo(vid, split, shots, offsets)


def _state_key(k: int, pose, placements) -> tuple:
    if pose is None:
        return (k, None, tuple(placements))
    return (k, pose.joints.tobytes(), pose.facing, pose.holding_pen, tuple(placements))


def _frames(lv: LongVideo, renderers: List[VideoRenderer], times: Sequence[float]) -> Iterator:
    """Yield ``(key, draw)`` per time: equal keys draw equal frames; ``draw()`` renders one."""
    for t in times:
        k, tk = lv.shot_at(t)
        v = lv.shots[k]
        pose = person_pose(v, tk)
        placements = object_placements(v, tk, pose)
        yield (
            _state_key(k, pose, placements),
            (lambda r=renderers[k], tk=tk, pose=pose, pl=placements: r.render(tk, pose, pl)),
        )


class LongTask(NamedTuple):
    index: int
    vid: str
    split: str
    seed: int
    width: int
    height: int
    root: str
    videos_mp4: bool


def process_long_video(task: LongTask) -> Tuple[LongVideo, Dict[str, str], int]:
    """Script and render one long video. Returns (video, csv row, #jpgs)."""
    from .generate import _charades_row, _link_or_copy

    lv = script_long_video(task.seed, task.index, task.vid, task.split)
    row = _charades_row(lv, np.random.default_rng([task.seed, 0x10C, task.index, 99]))
    renderers = [VideoRenderer(v, task.width, task.height) for v in lv.shots]
    cdir = os.path.join(task.root, "Charades_v1_rgb", lv.vid)
    os.makedirs(cdir, exist_ok=True)
    n = lv.num_charades_frames()
    last_key, last_path = None, ""
    for i, (key, draw) in enumerate(_frames(lv, renderers, [i / 24.0 for i in range(n)])):
        path = os.path.join(cdir, f"{lv.vid}-{i + 1:06d}.jpg")
        if key == last_key:  # nothing moved: same bytes as the previous frame
            _link_or_copy(last_path, path)
        else:
            with open(path, "wb") as f:
                f.write(writer.encode_jpeg(draw()))
            last_key, last_path = key, path
    if task.videos_mp4:
        os.makedirs(os.path.join(task.root, "videos"), exist_ok=True)
        count = max(1, int(lv.length * lv.fps + 1e-6))

        def images():
            key0, img = None, None
            for key, draw in _frames(lv, renderers, [i / lv.fps for i in range(count)]):
                if key != key0:
                    key0, img = key, draw()
                yield img

        writer.write_mp4(
            os.path.join(task.root, "videos", f"{lv.vid}.mp4"),
            images(),
            lv.fps,
            task.width,
            task.height,
        )
    return lv, row, n

"""``ClipDatasetMapper``: a Charades video dict -> one training clip or one test view
(docs/video.md).

Output contract (what the video models consume), one dict per clip / view:

- ``"clip"``: torch.uint8 (3, T, H, W) RGB, not normalised (the model normalises);
- ``"labels"``: torch.float32 (K,) multi-hot: the actions active on the clip's frames (training) or
  the video-level labels (test);
- ``"video_id"``: str;
- ``"view"``: (temporal_index, spatial_index) ints (test only);
- ``"frame_numbers"``: torch.int64 (T,), the 1-based 24-fps frames read (padding repeats the last);
- ``"clip_center_sec"``: float, midpoint of the first and last frame's times.

Training: random clip start, scale jitter of the short side, random square crop, horizontal flip.
Test: the dict carries ``"view"`` (added by the test loader, :func:`expand_test_views`); the short
side is resized to ``TEST_CROP_SIZE`` and the view's square crop is taken.
"""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
from detectron2.config import CfgNode, configurable
from torchvision.transforms.v2 import functional as TF

from ag_detectron.errors import ConfigError, DatasetFormatError

from . import clip_sampling as cs
from . import video_io

__all__ = ["ClipDatasetMapper", "expand_test_views", "resize_short_side"]

_SOURCES = ("frames", "video")


def resize_short_side(clip: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 (T, 3, H, W) so that the short side is ``size`` (long side floored, as
    PySlowFast ``random_short_side_scale_jitter``); bilinear with antialiasing."""
    h, w = clip.shape[-2:]
    if min(h, w) == size:
        return clip
    if h <= w:
        new_h, new_w = size, int(math.floor(w * size / h))
    else:
        new_h, new_w = int(math.floor(h * size / w)), size
    return TF.resize(clip, [new_h, new_w], antialias=True)


def expand_test_views(
    dicts: Sequence[Dict[str, Any]], num_temporal: int, num_spatial: int
) -> List[Dict[str, Any]]:
    """One shallow copy per (temporal, spatial) view of every video, video-major, with
    ``"view"``."""
    if int(num_temporal) != num_temporal or num_temporal < 1:
        raise ConfigError(f"TEST.CLIP.NUM_ENSEMBLE_VIEWS={num_temporal!r}; expected an int >= 1")
    if num_spatial not in (1, 3):
        raise ConfigError(f"TEST.CLIP.NUM_SPATIAL_CROPS={num_spatial!r}; expected 1 or 3")
    out = []
    for d in dicts:
        for t in range(num_temporal):
            for s in range(num_spatial):
                view = dict(d)
                view["view"] = (t, s)
                out.append(view)
    return out


class ClipDatasetMapper:
    """Read and augment one clip of a Charades video dict (``video_id``, ``actions``, ``labels``,
    ``frame_dir`` and, for ``source="video"``, ``video_file``)."""

    @configurable
    def __init__(
        self,
        is_train: bool,
        *,
        num_frames: int,
        sampling_rate: int,
        source: str = "frames",
        video_dir: str = "",
        jitter_scales: Tuple[int, int] = (256, 320),
        jitter_inverse_uniform: bool = False,
        train_crop_size: int = 224,
        random_flip: bool = True,
        test_crop_size: int = 256,
        num_temporal_views: int = 10,
        num_spatial_crops: int = 3,
    ) -> None:
        """
        Args:
            is_train: training clip (random) or test view (the dict's ``"view"``).
            num_frames, sampling_rate: T and the stride in 24-fps frames.
            source: "frames" (JPEG folders) or "video" (video files).
            video_dir: directory of ``<id>.mp4`` for ``source="video"`` ("" = the dict's
                ``video_file``).
            jitter_scales: (min, max) short side of the training scale jitter.
            jitter_inverse_uniform: draw the size as ``1 / U(1/max, 1/min)``.
            train_crop_size: side of the random square training crop.
            random_flip: horizontal flip with probability 0.5 in training.
            test_crop_size: test short side and square crop side.
            num_temporal_views, num_spatial_crops: test views per video.
        """
        cs.check_clip_shape(num_frames, sampling_rate)
        if source not in _SOURCES:
            raise ConfigError(f"INPUT.CLIP.SOURCE={source!r}; expected one of {list(_SOURCES)}")
        lo, hi = (int(x) for x in jitter_scales)
        if not train_crop_size <= lo <= hi:
            raise ConfigError(
                f"INPUT.CLIP.TRAIN_JITTER_SCALES={tuple(jitter_scales)}; expected min <= max and "
                f"min >= INPUT.CLIP.TRAIN_CROP_SIZE={train_crop_size}"
            )
        if num_spatial_crops not in (1, 3):
            raise ConfigError(f"TEST.CLIP.NUM_SPATIAL_CROPS={num_spatial_crops!r}; expected 1 or 3")
        self.is_train = is_train
        self.num_frames = int(num_frames)
        self.sampling_rate = int(sampling_rate)
        self.source = source
        self.video_dir = video_dir
        self.jitter_scales = (lo, hi)
        self.jitter_inverse_uniform = bool(jitter_inverse_uniform)
        self.train_crop_size = int(train_crop_size)
        self.random_flip = bool(random_flip)
        self.test_crop_size = int(test_crop_size)
        self.num_temporal_views = int(num_temporal_views)
        self.num_spatial_crops = int(num_spatial_crops)
        # frame counts per (folder or file, video): listing a folder of ~800 JPEGs per clip cost
        # more than the rest of a precomputed-feature step; a video's length does not change
        self._num_frames: Dict[Tuple[str, str], int] = {}

    @classmethod
    def from_config(cls, cfg: CfgNode, is_train: bool = True) -> Dict[str, Any]:
        c = cfg.INPUT.CLIP
        return {
            "is_train": is_train,
            "num_frames": c.NUM_FRAMES,
            "sampling_rate": c.SAMPLING_RATE,
            "source": c.SOURCE,
            "video_dir": c.VIDEO_DIR,
            "jitter_scales": tuple(c.TRAIN_JITTER_SCALES),
            "jitter_inverse_uniform": c.TRAIN_JITTER_INVERSE_UNIFORM,
            "train_crop_size": c.TRAIN_CROP_SIZE,
            "random_flip": c.RANDOM_FLIP,
            "test_crop_size": c.TEST_CROP_SIZE,
            "num_temporal_views": cfg.TEST.CLIP.NUM_ENSEMBLE_VIEWS,
            "num_spatial_crops": cfg.TEST.CLIP.NUM_SPATIAL_CROPS,
        }

    # ---- reading ---------------------------------------------------------------------------

    def _video_file(self, d: Dict[str, Any]) -> str:
        if self.video_dir:
            return os.path.join(self.video_dir, f"{d['video_id']}.mp4")
        if "video_file" not in d:
            raise DatasetFormatError(
                f"video {d['video_id']!r}: INPUT.CLIP.SOURCE='video' but the dict has no "
                "'video_file' and INPUT.CLIP.VIDEO_DIR is empty"
            )
        return d["video_file"]

    def num_video_frames(self, d: Dict[str, Any]) -> int:
        """Number of 24-fps frames of the video (frame list, frame files, or the video file's
        duration); counted once per video and mapper (process)."""
        if "frame_paths" in d:
            return len(d["frame_paths"])
        where = d["frame_dir"] if self.source == "frames" else self._video_file(d)
        key = (where, d["video_id"])
        if key not in self._num_frames:
            if self.source == "frames":
                n = video_io.count_frame_files(where, d["video_id"])
            else:
                n = video_io.probe_video(where, d["video_id"]).num_frames_24
            self._num_frames[key] = n
        return self._num_frames[key]

    def read(self, d: Dict[str, Any], frame_numbers: Sequence[int]) -> torch.Tensor:
        """uint8 (T, 3, H, W) RGB frames of the dict's video."""
        if "frame_paths" in d:  # a SlowFast frame list (charades_frame_lists.py)
            paths, vid = d["frame_paths"], d["video_id"]
            frames = [video_io.decode_jpeg_file(paths[int(n) - 1], vid) for n in frame_numbers]
            return video_io.stack_hwc([f.permute(1, 2, 0).numpy() for f in frames], vid, paths[0])
        if self.source == "frames":
            return video_io.read_frame_folder(d["frame_dir"], d["video_id"], frame_numbers)
        return video_io.read_video_frames(self._video_file(d), d["video_id"], frame_numbers)

    # ---- mapping ---------------------------------------------------------------------------

    def clip_frames(self, d: Dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        """int64 (T,) 1-based frame numbers of this dict's training clip or test view."""
        vid = d["video_id"]
        total = self.num_video_frames(d)
        if self.is_train:
            start = cs.train_clip_start(total, self.num_frames, self.sampling_rate, rng, vid)
        else:
            t_index = int(self._view(d)[0])
            starts = cs.test_clip_starts(
                total, self.num_frames, self.sampling_rate, self.num_temporal_views, vid
            )
            start = starts[t_index]
        frames, _ = cs.clip_frame_numbers(start, self.num_frames, self.sampling_rate, total, vid)
        return frames

    def _view(self, d: Dict[str, Any]) -> Tuple[int, int]:
        view = d.get("view")
        if view is None:
            raise DatasetFormatError(
                f"video {d['video_id']!r}: a test dict needs 'view' (temporal, spatial); build the "
                "test dataset with expand_test_views"
            )
        t, s = (int(v) for v in view)
        if not (0 <= t < self.num_temporal_views and 0 <= s < self.num_spatial_crops):
            raise DatasetFormatError(
                f"video {d['video_id']!r}: view {tuple(view)} outside "
                f"{self.num_temporal_views} temporal x {self.num_spatial_crops} spatial views"
            )
        return t, s

    def _labels(self, d: Dict[str, Any], frames: np.ndarray) -> torch.Tensor:
        labels = d["labels"]
        num_classes = len(labels)
        if self.is_train and "frame_labels" in d:  # frame list: union of the frames' labels
            out = torch.zeros(num_classes, dtype=torch.float32)
            for n in frames:
                out[d["frame_labels"][int(n) - 1]] = 1.0
            return out
        if self.is_train:
            return torch.from_numpy(
                cs.clip_labels(d["actions"], frames, num_classes, d["video_id"])
            )
        for cls, _, _ in d.get("actions", ()):
            if not 0 <= int(cls) < num_classes:
                raise DatasetFormatError(
                    f"video {d['video_id']!r}: action class {cls} outside the {num_classes} classes"
                )
        return torch.as_tensor(labels, dtype=torch.float32)

    def _jitter_size(self, rng: np.random.Generator) -> int:
        lo, hi = self.jitter_scales
        if self.jitter_inverse_uniform:
            return int(round(1.0 / rng.uniform(1.0 / hi, 1.0 / lo)))
        return int(round(rng.uniform(lo, hi)))

    @staticmethod
    def call_rng() -> np.random.Generator:
        """One generator per call, seeded from NumPy's global RNG, which Detectron2 seeds per
        data-loader worker: reproducible with a fixed SEED, different across workers."""
        return np.random.default_rng(np.random.randint(0, 2**31 - 1))

    def clip_targets(self, d: Dict[str, Any], rng: np.random.Generator) -> Dict[str, Any]:
        """Everything of the output except ``"clip"``, without decoding a frame: ``"video_id"``,
        ``"labels"``, ``"frame_numbers"``, ``"clip_center_sec"`` and, for a test view,
        ``"view"``. Draws the training clip's position from ``rng`` (before any augmentation
        draw, so ``__call__`` gives the same clip with or without decoding)."""
        frames = self.clip_frames(d, rng)
        out: Dict[str, Any] = {"video_id": d["video_id"]}
        if not self.is_train:
            out["view"] = self._view(d)
        out["labels"] = self._labels(d, frames)
        out["frame_numbers"] = torch.from_numpy(frames)
        out["clip_center_sec"] = cs.clip_center_sec(frames)
        return out

    def __call__(self, dataset_dict: Dict[str, Any]) -> Dict[str, Any]:
        d = dataset_dict
        rng = self.call_rng()
        out = self.clip_targets(d, rng)
        frames = out["frame_numbers"].numpy()
        clip = self.read(d, frames)  # (T, 3, H, W)
        if self.is_train:
            clip = resize_short_side(clip, self._jitter_size(rng))
            size = self.train_crop_size
            h, w = clip.shape[-2:]
            y0 = int(rng.integers(0, h - size + 1))
            x0 = int(rng.integers(0, w - size + 1))
            clip = clip[..., y0 : y0 + size, x0 : x0 + size]
            if self.random_flip and rng.random() < 0.5:
                clip = clip.flip(-1)
        else:
            _, s_index = out["view"]
            size = self.test_crop_size
            clip = resize_short_side(clip, size)
            h, w = clip.shape[-2:]
            y0, x0 = cs.spatial_crop_offsets(h, w, size, s_index, self.num_spatial_crops)
            clip = clip[..., y0 : y0 + size, x0 : x0 + size]
        out["clip"] = clip.permute(1, 0, 2, 3).contiguous()
        return out

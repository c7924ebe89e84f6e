"""Actions over time: a clip model run on clips centred every ``stride`` seconds of one video
(``tools/predict.py --actions-config``; docs/engine.md "Actions over time").

A clip centred at time ``c`` reads the config's ``INPUT.CLIP.NUM_FRAMES`` frames
``INPUT.CLIP.SAMPLING_RATE`` apart on the 24-fps timeline, the middle of its span at ``c``; frame
numbers before the first / after the last frame are clamped to the video (the edge frame repeats).
Each clip gets the test-time preprocessing of the clip mapper (short side resized to
``INPUT.CLIP.TEST_CROP_SIZE``, centre square crop) and goes through the model in batches of
``TEST.CLIP.BATCH_SIZE``. An ``SGFB`` model also reads the bank window around ``c`` from
``MODEL.SGFB.BANK_DIR``; the video must be in the bank.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data import MetadataCatalog
from detectron2.modeling import build_model

from ..data import clip_sampling as cs
from ..data import video_io
from ..data.clip_mapper import resize_short_side
from ..errors import ConfigError, DatasetFormatError

__all__ = [
    "ACTION_TASKS",
    "action_class_names",
    "clip_centres",
    "centred_clip_frames",
    "ActionTimelinePredictor",
    "actions_record",
]

logger = logging.getLogger(__name__)

#: Tasks of the meta-architectures that map a clip to per-class action scores.
ACTION_TASKS = ("clip_classification", "feature_bank_classification")


def clip_centres(num_frames_24: int, stride_s: float) -> List[float]:
    """Clip centres ``0, stride, 2 * stride, ...`` s up to the video's last frame time
    ``(num_frames_24 - 1) / 24``."""
    if not stride_s > 0:
        raise ConfigError(f"--action-stride {stride_s!r}; expected > 0 seconds")
    last = cs.frame_time(num_frames_24)
    count = int(math.floor(last / stride_s + 1e-9)) + 1
    return [k * stride_s for k in range(count)]


def centred_clip_frames(
    centre_s: float, num_frames: int, sampling_rate: int, num_frames_24: int
) -> np.ndarray:
    """int64 (num_frames,) 1-based 24-fps frame numbers of the clip whose span is centred at
    ``centre_s``, clamped to ``1 .. num_frames_24``."""
    cs.check_clip_shape(num_frames, sampling_rate)
    centre_frame = centre_s * cs.CHARADES_FPS + 1
    start = int(round(centre_frame - (cs.clip_span(num_frames, sampling_rate) - 1) / 2))
    frames = start + sampling_rate * np.arange(num_frames, dtype=np.int64)
    return np.clip(frames, 1, num_frames_24)


def action_class_names(
    cfg: CfgNode, num_classes: int, classes_file: Optional[str] = None
) -> List[str]:
    """Names of the ``num_classes`` action classes: ``classes_file`` (Charades
    ``cNNN description`` lines) if given, else the ``action_classes`` metadata of the first
    dataset of ``DATASETS.TEST`` / ``DATASETS.TRAIN`` that has it, else ``c000``, ``c001``, ...

    Raises:
        ConfigError: the names found are not ``num_classes`` (``MODEL.VIDEO.NUM_CLASSES``).
    """
    from ..data.datasets.charades import read_charades_classes

    names, where = None, None
    if classes_file:
        names, where = read_charades_classes(classes_file), classes_file
    else:
        for ds in tuple(cfg.DATASETS.TEST) + tuple(cfg.DATASETS.TRAIN):
            found = MetadataCatalog.get(ds).get("action_classes", None)
            if found:
                names, where = list(found), f"metadata of dataset {ds!r}"
                break
    if names is None:
        logger.warning(
            "No action class names (no classes file, no action_classes metadata in "
            "DATASETS.TEST/TRAIN): using c000..c%03d",
            num_classes - 1,
        )
        return [f"c{i:03d}" for i in range(num_classes)]
    if len(names) != num_classes:
        raise ConfigError(
            f"{where}: {len(names)} action classes, but the model has "
            f"MODEL.VIDEO.NUM_CLASSES={num_classes}"
        )
    return names


class ActionTimelinePredictor:
    """A clip model (``ClipClassifier`` or ``SGFB``) with its weights, run over one video.

    ``__call__(source) -> {"video_id", "stride_s", "clips": [{"time", "frames", "scores"}]}``
    where ``scores`` is float32 (K,) sigmoid probabilities of the clip centred at ``time``.
    """

    def __init__(self, cfg: CfgNode) -> None:
        """
        Args:
            cfg: a clip-model config with ``MODEL.WEIGHTS`` set.

        Raises:
            ConfigError: not a clip-model config, or ``MODEL.WEIGHTS`` empty / missing.
        """
        from .. import modeling  # noqa: F401  (registers the meta-architectures)
        from ..checkpoint import VideoCheckpointer

        if not cfg.MODEL.WEIGHTS:
            raise ConfigError(
                f"MODEL.WEIGHTS of the actions config ({cfg.MODEL.META_ARCHITECTURE}) is empty: "
                "--actions-weights must name a trained clip-model checkpoint"
            )
        if not os.path.isfile(cfg.MODEL.WEIGHTS):
            raise ConfigError(
                f"MODEL.WEIGHTS={cfg.MODEL.WEIGHTS!r} of the actions config: no such file"
            )
        self.cfg = cfg.clone()
        self.model = build_model(self.cfg)
        task = getattr(self.model, "task", None)
        if task not in ACTION_TASKS:
            raise ConfigError(
                f"MODEL.META_ARCHITECTURE={cfg.MODEL.META_ARCHITECTURE!r} (task {task!r}) is "
                f"not a clip model; the actions config needs one of the tasks {ACTION_TASKS}"
            )
        self.model.eval()
        VideoCheckpointer(self.model).load(cfg.MODEL.WEIGHTS)
        c = cfg.INPUT.CLIP
        self.num_frames, self.sampling_rate = int(c.NUM_FRAMES), int(c.SAMPLING_RATE)
        self.crop_size = int(c.TEST_CROP_SIZE)
        self.batch_size = max(int(cfg.TEST.CLIP.BATCH_SIZE), 1)
        self.bank = None
        if task == "feature_bank_classification":
            from ..data.bank_mapper import bank_window_spec, open_feature_bank

            self.bank, self.window_spec = open_feature_bank(cfg), bank_window_spec(cfg)

    # ---- reading -----------------------------------------------------------------------------

    @staticmethod
    def video_id(source: str) -> str:
        """The folder name of a frame folder, the file stem of a video file."""
        if os.path.isdir(source):
            return os.path.basename(os.path.normpath(source))
        return os.path.splitext(os.path.basename(source))[0]

    def _num_frames_24(self, source: str, vid: str) -> int:
        if os.path.isdir(source):
            return video_io.count_frame_files(source, vid)
        return video_io.probe_video(source, vid).num_frames_24

    def _read(self, source: str, vid: str, frames: Sequence[int]) -> torch.Tensor:
        """uint8 (T, 3, H, W) RGB frames."""
        if os.path.isdir(source):
            return video_io.read_frame_folder(source, vid, frames)
        return video_io.read_video_frames(source, vid, frames)

    def _clip_input(self, source: str, vid: str, centre: float, total: int) -> Dict[str, Any]:
        frames = centred_clip_frames(centre, self.num_frames, self.sampling_rate, total)
        clip = resize_short_side(self._read(source, vid, frames), self.crop_size)
        h, w = clip.shape[-2:]
        y0, x0 = cs.spatial_crop_offsets(h, w, self.crop_size, 0, 1)
        clip = clip[..., y0 : y0 + self.crop_size, x0 : x0 + self.crop_size]
        out = {
            "video_id": vid,
            "clip": clip.permute(1, 0, 2, 3).contiguous(),  # (3, T, S, S)
            "frame_numbers": torch.from_numpy(frames),
            "clip_center_sec": centre,
        }
        if self.bank is not None:
            window = self.bank.window(vid, centre, self.window_spec)
            out["bank_window"] = torch.from_numpy(window.entries)  # (W, D) float32
            out["bank_mask"] = torch.from_numpy(window.mask)  # (W,) bool
        return out

    # ---- running -----------------------------------------------------------------------------

    @torch.no_grad()
    def __call__(self, source: str, stride_s: float = 1.0) -> Dict[str, Any]:
        """Scores of the clips centred every ``stride_s`` s of a video file or a Charades frame
        folder (``<dir>/<id>-NNNNNN.jpg``).

        Raises:
            DatasetFormatError: unreadable input (names the file / folder and video).
            ConfigError: an ``SGFB`` model whose bank does not hold this video.
        """
        if not (os.path.isdir(source) or os.path.isfile(source)):
            raise DatasetFormatError(f"--input {source}: no such file or directory")
        vid = self.video_id(source)
        if self.bank is not None and vid not in self.bank:
            raise ConfigError(
                f"{self.bank.index_path}: video {vid!r} is not in the feature bank "
                "(MODEL.SGFB.BANK_DIR); extract it first, or use a ClipClassifier config"
            )
        total = self._num_frames_24(source, vid)
        centres = clip_centres(total, stride_s)
        clips: List[Dict[str, Any]] = []
        for i in range(0, len(centres), self.batch_size):
            batch = [
                self._clip_input(source, vid, c, total) for c in centres[i : i + self.batch_size]
            ]
            for x, y in zip(batch, self.model(batch)):
                clips.append(
                    {
                        "time": float(x["clip_center_sec"]),
                        "frames": x["frame_numbers"].tolist(),
                        "scores": y["scores"].float().cpu().numpy(),
                    }
                )
        return {"video_id": vid, "stride_s": float(stride_s), "clips": clips}


def actions_record(
    result: Dict[str, Any], class_names: Sequence[str], top_k: int = 5
) -> Dict[str, Any]:
    """JSON-ready form of :meth:`ActionTimelinePredictor.__call__`'s result (docs/engine.md):
    ``{"video_id", "stride_s", "num_classes", "clips": [{"time", "frames", "top": [{"id",
    "name", "score"}]}]}``, ``top`` the ``top_k`` classes sorted by score, highest first."""
    clips = []
    for c in result["clips"]:
        order = np.argsort(-c["scores"], kind="stable")[:top_k]
        clips.append(
            {
                "time": round(c["time"], 4),
                "frames": [int(n) for n in c["frames"]],
                "top": [
                    {"id": int(k), "name": class_names[k], "score": float(c["scores"][k])}
                    for k in order
                ],
            }
        )
    return {
        "video_id": result["video_id"],
        "stride_s": result["stride_s"],
        "num_classes": len(class_names),
        "clips": clips,
    }

"""All frame decoding of the project: JPEG frame folders and video files (docs/video.md).

- **Frame folders** ``Charades_v1_rgb/<id>/<id>-NNNNNN.jpg`` (24 fps, 1-based): JPEGs decoded with
  ``simplejpeg`` (libjpeg-turbo; strict: a truncated or corrupt file is an error), the fastest of
  the decoders measured in docs/benchmarks.md (torchvision's JPEG decoding is also deprecated).
- **Video files** (``Charades_v1_480/<id>.mp4`` or any container FFmpeg reads): PyAV. A video is put
  on the 24-fps timeline by time: 24-fps frame ``n`` is the decoded frame shown at
  ``t = (n - 1) / 24`` s (the last frame whose presentation time is ``<= t``, to a tolerance of
  1 ms), so a 30-fps video reads every 1.25th frame. A video has ``round(duration * 24)`` such
  frames (at least 1).

Every failure raises :class:`DatasetFormatError` naming the video and the folder / file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import av
import numpy as np
import simplejpeg
import torch

from ag_detectron.errors import DatasetFormatError

__all__ = [
    "CHARADES_FPS",
    "charades_frame_path",
    "count_frame_files",
    "decode_jpeg_file",
    "read_frame_folder",
    "stack_hwc",
    "VideoInfo",
    "probe_video",
    "iter_video_frames",
    "read_video_frames",
    "iter_frames_at_rate",
]

CHARADES_FPS = 24
_TIME_TOL = 1e-3


def charades_frame_path(frame_dir: str, video_id: str, frame_number: int) -> str:
    """``frame_dir/<id>-NNNNNN.jpg`` (1-based, 6 digits)."""
    return os.path.join(frame_dir, f"{video_id}-{frame_number:06d}.jpg")


def count_frame_files(frame_dir: str, video_id: str) -> int:
    """Number of ``<id>-NNNNNN.jpg`` files in a frame folder (= the video's last frame number).

    Raises:
        DatasetFormatError: the folder is missing or holds no frame of this video.
    """
    if not os.path.isdir(frame_dir):
        raise DatasetFormatError(
            f"video {video_id!r}: frame folder {frame_dir} does not exist (expected "
            f"Charades_v1_rgb/{video_id}/{video_id}-NNNNNN.jpg; see datasets/README.md)"
        )
    pattern = re.compile(re.escape(video_id) + r"-\d{6}\.jpg$")
    count = sum(1 for name in os.listdir(frame_dir) if pattern.match(name))
    if count == 0:
        raise DatasetFormatError(
            f"video {video_id!r}: frame folder {frame_dir} holds no {video_id}-NNNNNN.jpg frame"
        )
    return count


def decode_jpeg_file(path: str, video_id: str = "?") -> torch.Tensor:
    """uint8 (3, H, W) RGB of one JPEG file (a view of H, W, 3 memory).

    Raises:
        DatasetFormatError: the file is missing or not a decodable JPEG (names file and video).
    """
    return torch.from_numpy(_decode_hwc(path, video_id)).permute(2, 0, 1)


def _decode_hwc(path: str, video_id: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DatasetFormatError(f"video {video_id!r}: frame file {path} does not exist") from None
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ValueError as e:
        raise DatasetFormatError(
            f"video {video_id!r}: frame file {path} is not a readable JPEG ({e})"
        ) from None


def read_frame_folder(frame_dir: str, video_id: str, frame_numbers: Sequence[int]) -> torch.Tensor:
    """uint8 (T, 3, H, W) RGB frames of a Charades frame folder; a repeated number is decoded once.
    The result is channels-last in memory (a view of (T, H, W, 3)).

    Raises:
        DatasetFormatError: missing folder / file, unreadable JPEG, frames of different sizes.
    """
    if not os.path.isdir(frame_dir):
        raise DatasetFormatError(
            f"video {video_id!r}: frame folder {frame_dir} does not exist (expected "
            f"Charades_v1_rgb/{video_id}/{video_id}-NNNNNN.jpg; see datasets/README.md)"
        )
    decoded: Dict[int, np.ndarray] = {}
    for n in frame_numbers:
        n = int(n)
        if n not in decoded:
            decoded[n] = _decode_hwc(charades_frame_path(frame_dir, video_id, n), video_id)
    return stack_hwc([decoded[int(n)] for n in frame_numbers], video_id, frame_dir)


def stack_hwc(frames: List[np.ndarray], video_id: str, where: str) -> torch.Tensor:
    """uint8 (T, 3, H, W) view of the stacked (H, W, 3) frames (one copy, channels-last memory)."""
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise DatasetFormatError(
            f"video {video_id!r}: frames of different sizes {sorted(shapes)} in {where}"
        )
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` reads from a container's first video stream."""

    #: average frame rate of the stream (frames per second)
    fps: float
    #: duration in seconds (stream duration, else container duration, else frames / fps)
    duration: float
    #: number of frames on the 24-fps timeline: ``max(round(duration * 24), 1)``
    num_frames_24: int


def _open(path: str, video_id: str) -> "av.container.InputContainer":
    if not os.path.isfile(path):
        raise DatasetFormatError(f"video {video_id!r}: video file {path} does not exist")
    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        raise DatasetFormatError(
            f"video {video_id!r}: video file {path} is unreadable ({e})"
        ) from None
    if not container.streams.video:
        container.close()
        raise DatasetFormatError(f"video {video_id!r}: video file {path} has no video stream")
    return container


def _info(container, path: str, video_id: str) -> VideoInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else float("nan")
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    elif stream.frames and fps == fps and fps > 0:
        duration = stream.frames / fps
    if duration is None or not duration > 0:
        raise DatasetFormatError(f"video {video_id!r}: video file {path} has no duration")
    frames_24 = max(round(duration * CHARADES_FPS), 1)
    return VideoInfo(fps=fps, duration=duration, num_frames_24=frames_24)


def probe_video(path: str, video_id: str = "?") -> VideoInfo:
    """Frame rate, duration and 24-fps frame count of a video file (reads the header only)."""
    with _open(path, video_id) as container:
        return _info(container, path, video_id)


def iter_video_frames(
    path: str, video_id: str = "?", last: Optional[int] = None
) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(index, uint8 (H, W, 3) RGB)`` for every decoded frame, 1-based, in decoding order
    at the video's native rate (the i-th decoded frame; ffmpeg's ``%06d`` numbering for constant
    frame rate videos), up to frame ``last`` if given.

    Raises:
        DatasetFormatError: missing / unreadable file or a decoding error (names the frame).
    """
    with _open(path, video_id) as container:
        stream = container.streams.video[0]
        index = 0
        try:
            for frame in container.decode(stream):
                index += 1
                yield index, frame.to_ndarray(format="rgb24")
                if last is not None and index >= last:
                    break
        except av.error.FFmpegError as e:
            raise DatasetFormatError(
                f"video {video_id!r}: video file {path} fails to decode after frame {index} ({e})"
            ) from None


def _frames_at_times(container, stream, times: Sequence[float], path: str, video_id: str):
    """``{time: uint8 (H, W, 3)}`` for sorted non-negative times: the frame shown at each time."""
    out: Dict[float, np.ndarray] = {}
    pending = sorted(set(float(t) for t in times))
    start = stream.start_time if stream.start_time is not None else 0
    if pending[0] > 1.0:  # seek to the key frame before the first time (1 s margin)
        container.seek(int((pending[0] - 1.0) / stream.time_base) + start, stream=stream)
    prev = None
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float((frame.pts - start) * stream.time_base)
            while pending and t > pending[0] + _TIME_TOL:
                out[pending.pop(0)] = (prev if prev is not None else frame).to_ndarray(
                    format="rgb24"
                )
            if not pending:
                break
            prev = frame
    except av.error.FFmpegError as e:
        raise DatasetFormatError(
            f"video {video_id!r}: video file {path} fails to decode near {pending[:1]} s ({e})"
        ) from None
    if pending:
        if prev is None:
            raise DatasetFormatError(f"video {video_id!r}: video file {path} decodes no frame")
        image = prev.to_ndarray(format="rgb24")  # after the last frame: the last frame
        for t in pending:
            out[t] = image
    return out


def read_video_frames(path: str, video_id: str, frame_numbers: Sequence[int]) -> torch.Tensor:
    """uint8 (T, 3, H, W) RGB: the 24-fps frames ``frame_numbers`` (1-based) of a video file.

    Raises:
        DatasetFormatError: missing / unreadable file, a frame number outside the video.
    """
    with _open(path, video_id) as container:
        info = _info(container, path, video_id)
        bad = [int(n) for n in frame_numbers if not 1 <= int(n) <= info.num_frames_24]
        if bad:
            raise DatasetFormatError(
                f"video {video_id!r}: frames {bad[:5]} outside the video's 24-fps frames "
                f"1..{info.num_frames_24} ({path})"
            )
        times = [(int(n) - 1) / CHARADES_FPS for n in frame_numbers]
        images = _frames_at_times(container, container.streams.video[0], times, path, video_id)
    return stack_hwc([images[t] for t in times], video_id, path)


def iter_frames_at_rate(
    source: str, rate: float, video_id: Optional[str] = None
) -> Iterator[Tuple[float, np.ndarray]]:
    """Yield ``(time_s, uint8 (H, W, 3) RGB)`` every ``1 / rate`` s from a video file or a Charades
    frame folder (``<dir>/<id>-NNNNNN.jpg``, id = the folder name unless given), starting at 0 s.

    For ``tools/predict.py`` and feature-bank extraction: a 24-fps folder at rate 2 yields frames
    1, 13, 25, ... (``n = round(t * 24) + 1``). A video file is decoded in one pass and its sampled
    frames are held in memory until the first is yielded (60 frames of 480p for 30 s at 2/s:
    ~55 MB).
    """
    if not rate > 0:
        raise DatasetFormatError(f"{source}: frame rate {rate!r}; expected > 0")
    if os.path.isdir(source):
        vid = video_id or os.path.basename(os.path.normpath(source))
        total = count_frame_files(source, vid)
        k = 0
        while True:
            t = k / rate
            n = round(t * CHARADES_FPS) + 1
            if n > total:
                return
            image = decode_jpeg_file(charades_frame_path(source, vid, n), vid)
            yield t, image.permute(1, 2, 0).numpy()
            k += 1
    vid = video_id or os.path.splitext(os.path.basename(source))[0]
    with _open(source, vid) as container:
        info = _info(container, source, vid)
        count = int(np.floor(info.duration * rate - 1e-9)) + 1
        times = [k / rate for k in range(count)]
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        images = _frames_at_times(container, stream, times, source, vid)
    for t in times:
        yield t, images[t]

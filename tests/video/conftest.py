"""A tiny Charades root for the clip tests: frames whose grey level encodes the frame number.

Frame ``n`` (1-based, 24 fps) of every video is a flat 40x24 (W x H) image of level ``4 * n``
(mod 256), except that its left 8 columns are black, so a horizontal flip is visible.
"""

import os

import av
import numpy as np
import pytest
from PIL import Image

W, H = 40, 24
CLASSES = "c000 Holding a cup\nc001 Drinking\nc002 Sitting\nc003 Standing up\n"
HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length"
# id, number of 24-fps frames, actions
# command-line overrides for configs trained on this root: its 4 classes, 4-frame 24x24 clips
TINY_CLIP_OPTS = [
    "MODEL.VIDEO.NUM_CLASSES",
    "4",
    "INPUT.CLIP.NUM_FRAMES",
    "4",
    "INPUT.CLIP.TRAIN_JITTER_SCALES",
    "(24, 28)",
    "INPUT.CLIP.TRAIN_CROP_SIZE",
    "24",
    "INPUT.CLIP.TEST_CROP_SIZE",
    "24",
]
VIDEOS = {
    "VIDA1": (60, "c000 0.00 1.00;c001 1.50 2.40"),
    "VIDB2": (10, "c002 0.10 0.30"),
    "VIDC3": (30, ""),
    "VIDD4": (48, "c003 1.50 0.50;c002 1.00 9.00"),  # reversed; ends after the video
}


def level(n: int) -> int:
    return (4 * n) % 256


def frame_image(n: int, w: int = W, h: int = H) -> np.ndarray:
    img = np.full((h, w, 3), level(n), dtype=np.uint8)
    img[:, :8] = 0
    return img


def write_root(root: str, videos=VIDEOS, mp4_fps=None) -> str:
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "Charades_v1_classes.txt"), "w") as f:
        f.write(CLASSES)
    rows = [HEADER]
    for vid, (n, actions) in videos.items():
        rows.append(f"{vid},S1,Kitchen,5,5,Yes,script,cup,desc,{actions},{n / 24:.2f}")
        d = os.path.join(root, "Charades_v1_rgb", vid)
        os.makedirs(d, exist_ok=True)
        for i in range(1, n + 1):
            Image.fromarray(frame_image(i)).save(os.path.join(d, f"{vid}-{i:06d}.jpg"), quality=95)
    for split in ("train", "test"):
        with open(os.path.join(root, f"Charades_v1_{split}.csv"), "w", newline="") as f:
            f.write("\r\n".join(rows) + "\r\n")
    if mp4_fps:
        os.makedirs(os.path.join(root, "Charades_v1_480"), exist_ok=True)
        for vid, (n, _) in videos.items():
            write_mp4(os.path.join(root, "Charades_v1_480", f"{vid}.mp4"), n / 24, mp4_fps)
    return root


def write_mp4(path: str, duration: float, fps: int) -> None:
    """Native frame k (1-based) shows level 4 * k: lossless H.264 (crf 0), constant frame rate."""
    count = int(round(duration * fps))
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv444p"
        s.options = {"crf": "0", "preset": "ultrafast"}
        for k in range(1, count + 1):
            frame = av.VideoFrame.from_ndarray(frame_image(k), format="rgb24")
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)


@pytest.fixture(scope="session")
def charades_root(tmp_path_factory):
    return write_root(str(tmp_path_factory.mktemp("charades")), mp4_fps=30)


@pytest.fixture(scope="session")
def fx():
    """This module's helpers (``level``, ``frame_image``, ``write_root``, ``write_mp4``), for tests
    (pytest's importlib mode does not make conftest importable by name)."""
    import sys

    return sys.modules[__name__]

"""video_io: JPEG folders and video files on the 24-fps timeline, and every bad input."""

import os
import shutil

import numpy as np
import pytest
import torch

from ag_detectron.data import video_io
from ag_detectron.errors import DatasetFormatError


def _levels(frames: torch.Tensor) -> list:
    """Grey level of each (3, H, W) frame, read right of the black band."""
    return frames[:, 0, 12, 20].tolist()


def test_count_and_read_frame_folder(charades_root, fx):
    d = os.path.join(charades_root, "Charades_v1_rgb", "VIDA1")
    assert video_io.count_frame_files(d, "VIDA1") == 60
    clip = video_io.read_frame_folder(d, "VIDA1", [1, 2, 30, 60, 60])
    assert clip.dtype == torch.uint8 and tuple(clip.shape) == (5, 3, 24, 40)
    got = _levels(clip)
    assert all(abs(g - fx.level(n)) <= 1 for g, n in zip(got, [1, 2, 30, 60, 60]))
    assert clip[:, :, :, :8].max() <= 2  # the black band stays on the left


def test_video_file_on_24fps_timeline(charades_root):
    path = os.path.join(charades_root, "Charades_v1_480", "VIDA1.mp4")
    info = video_io.probe_video(path, "VIDA1")
    assert info.fps == 30 and info.duration == pytest.approx(2.5) and info.num_frames_24 == 60
    # 24-fps frame n is at t = (n - 1) / 24; the 30-fps frame shown then is floor(30 t) + 1
    # n: 1 2 3 4 5 24 25 60 -> native 1 2 3 4 6 29 31 74 (level 4k mod 256)
    clip = video_io.read_video_frames(path, "VIDA1", [1, 2, 3, 4, 5, 24, 25, 60])
    expected = [4 * k % 256 for k in (1, 2, 3, 4, 6, 29, 31, 74)]
    assert all(abs(g - e) <= 2 for g, e in zip(_levels(clip), expected)), _levels(clip)
    # seeking into the middle gives the same frames as decoding from the start
    late = video_io.read_video_frames(path, "VIDA1", [49, 60])
    assert torch.equal(late[1], clip[-1])
    assert abs(_levels(late)[0] - 4 * 61 % 256) <= 2  # n = 49: t = 2.0 s -> native 61


def test_iter_frames_at_rate(charades_root):
    folder = os.path.join(charades_root, "Charades_v1_rgb", "VIDA1")
    got = [(t, int(im[12, 20, 0])) for t, im in video_io.iter_frames_at_rate(folder, 2)]
    # frames 1, 13, 25, 37, 49 (60 frames): levels 4, 52, 100, 148, 196
    assert [t for t, _ in got] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all(abs(g - e) <= 1 for (_, g), e in zip(got, [4, 52, 100, 148, 196]))
    path = os.path.join(charades_root, "Charades_v1_480", "VIDA1.mp4")
    got = [(t, int(im[12, 20, 0])) for t, im in video_io.iter_frames_at_rate(path, 2)]
    # native frames 1, 16, 31, 46, 61
    assert [t for t, _ in got] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all(abs(g - 4 * k % 256) <= 2 for (_, g), k in zip(got, [1, 16, 31, 46, 61]))


def test_iter_video_frames_native_order(tmp_path, fx):
    path = str(tmp_path / "v.mp4")
    fx.write_mp4(path, 0.4, 25)  # 10 frames
    got = [(i, int(im[12, 20, 0])) for i, im in video_io.iter_video_frames(path)]
    assert [i for i, _ in got] == list(range(1, 11))
    assert all(abs(g - 4 * i) <= 2 for i, g in got)
    assert len(list(video_io.iter_video_frames(path, last=3))) == 3


# ---- bad input ------------------------------------------------------------------------------


def test_missing_frame_folder(tmp_path):
    with pytest.raises(DatasetFormatError, match=r"'XYZ12'.*frame folder .* does not exist"):
        video_io.count_frame_files(str(tmp_path / "XYZ12"), "XYZ12")
    with pytest.raises(DatasetFormatError, match=r"'XYZ12'.*frame folder .* does not exist"):
        video_io.read_frame_folder(str(tmp_path / "XYZ12"), "XYZ12", [1])
    os.makedirs(tmp_path / "XYZ12")
    with pytest.raises(DatasetFormatError, match=r"holds no XYZ12-NNNNNN.jpg"):
        video_io.count_frame_files(str(tmp_path / "XYZ12"), "XYZ12")


def test_missing_frame_file(charades_root, tmp_path):
    d = str(tmp_path / "VIDA1")
    shutil.copytree(os.path.join(charades_root, "Charades_v1_rgb", "VIDA1"), d)
    os.remove(os.path.join(d, "VIDA1-000005.jpg"))
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*VIDA1-000005\.jpg does not exist"):
        video_io.read_frame_folder(d, "VIDA1", [1, 5])


@pytest.mark.parametrize("content", [b"", b"not a jpeg at all", None])
def test_unreadable_jpeg(charades_root, tmp_path, content):
    d = str(tmp_path / "VIDA1")
    shutil.copytree(os.path.join(charades_root, "Charades_v1_rgb", "VIDA1"), d)
    path = os.path.join(d, "VIDA1-000003.jpg")
    if content is None:  # truncated JPEG
        with open(path, "rb") as f:
            content = f.read()[:40]
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*VIDA1-000003\.jpg is not a readable"):
        video_io.read_frame_folder(d, "VIDA1", [3])


def test_missing_and_unreadable_video(tmp_path):
    with pytest.raises(DatasetFormatError, match=r"'V1'.*video file .*nope\.mp4 does not exist"):
        video_io.read_video_frames(str(tmp_path / "nope.mp4"), "V1", [1])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(DatasetFormatError, match=r"'V1'.*bad\.mp4 is unreadable"):
        video_io.probe_video(str(bad), "V1")
    with pytest.raises(DatasetFormatError, match=r"'V1'.*bad\.mp4 is unreadable"):
        list(video_io.iter_video_frames(str(bad), "V1"))


def test_video_frame_past_the_end(charades_root):
    path = os.path.join(charades_root, "Charades_v1_480", "VIDA1.mp4")
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*frames \[61\] outside .* 1\.\.60"):
        video_io.read_video_frames(path, "VIDA1", [1, 61])


def test_frames_are_rgb_in_channel_order(tmp_path):
    from PIL import Image

    d = tmp_path / "RGB01"
    d.mkdir()
    img = np.zeros((16, 16, 3), dtype=np.uint8)
    img[..., 0] = 200  # pure red
    Image.fromarray(img).save(d / "RGB01-000001.jpg", quality=95)
    clip = video_io.read_frame_folder(str(d), "RGB01", [1])
    assert clip[0, 0].float().mean() > 190 and clip[0, 1:].float().mean() < 10

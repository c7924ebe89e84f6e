"""ClipDatasetMapper output contract, augmentation, views, labels and bad input."""

import os
import shutil

import numpy as np
import pytest
import torch
from detectron2.config import get_cfg

from ag_detectron.config import add_ag_config
from ag_detectron.data.clip_mapper import ClipDatasetMapper, expand_test_views, resize_short_side
from ag_detectron.data.datasets import load_charades
from ag_detectron.errors import ConfigError, DatasetFormatError

SMALL = dict(jitter_scales=(24, 30), train_crop_size=20, test_crop_size=24, random_flip=False)


def _videos(root):
    return {d["video_id"]: d for d in load_charades(root, "train")}


def _levels(clip):
    """(3, T, H, W) -> grey level of each frame, away from the black band (left 8 columns)."""
    return clip[0, :, 0, -1].tolist()


def test_train_contract_and_labels(charades_root, fx):
    v = _videos(charades_root)["VIDA1"]
    mapper = ClipDatasetMapper(True, num_frames=4, sampling_rate=8, **SMALL)
    np.random.seed(0)
    for _ in range(20):
        out = mapper(v)
        assert set(out) == {"clip", "labels", "video_id", "frame_numbers", "clip_center_sec"}
        clip, frames = out["clip"], out["frame_numbers"]
        assert clip.dtype == torch.uint8 and tuple(clip.shape) == (3, 4, 20, 20)
        assert frames.dtype == torch.int64 and frames.shape == (4,)
        start = int(frames[0])
        # span 25 in a 60-frame video: starts 1..36, stride 8
        assert 1 <= start <= 36 and frames.tolist() == [start + 8 * i for i in range(4)]
        assert out["clip_center_sec"] == pytest.approx((start - 1 + 12) / 24)
        # the label is the union of c000 (0 < t < 1) and c001 (1.5 < t < 2.4) on these frames
        t = (frames.numpy() - 1) / 24
        expect = [float(((t > 0) & (t < 1)).any()), float(((t > 1.5) & (t < 2.4)).any()), 0, 0]
        assert out["labels"].dtype == torch.float32 and out["labels"].tolist() == expect
        # frames are read in order (levels 4n, resized: interior pixels keep the flat level)
        assert all(abs(g - fx.level(int(n))) <= 2 for g, n in zip(_levels(clip), frames))


def test_train_scale_jitter_crop_and_flip(charades_root):
    v = _videos(charades_root)["VIDA1"]
    mapper = ClipDatasetMapper(
        True, num_frames=2, sampling_rate=1, jitter_scales=(24, 48), train_crop_size=24
    )
    np.random.seed(1)
    flipped = 0
    for _ in range(40):
        clip = mapper(v)["clip"]
        assert tuple(clip.shape[-2:]) == (24, 24)
        # the black band is on the left unless flipped; a crop may miss it entirely
        left, right = clip[0, 0, :, 0].float().mean(), clip[0, 0, :, -1].float().mean()
        flipped += bool(right < 5 < left)
    assert 5 <= flipped <= 35  # p = 0.5 flip (seeded), only when the band is in the crop


def test_resize_short_side():
    x = torch.zeros(2, 3, 240, 320, dtype=torch.uint8)
    assert tuple(resize_short_side(x, 256).shape) == (2, 3, 256, 341)  # floor(320 * 256 / 240)
    assert tuple(resize_short_side(x.transpose(2, 3), 256).shape) == (2, 3, 341, 256)
    assert resize_short_side(x, 240) is x


def test_test_views_and_video_labels(charades_root, fx):
    v = _videos(charades_root)["VIDA1"]
    views = expand_test_views([v], 3, 3)
    assert [d["view"] for d in views] == [(t, s) for t in range(3) for s in range(3)]
    mapper = ClipDatasetMapper(
        False, num_frames=4, sampling_rate=8, num_temporal_views=3, num_spatial_crops=3, **SMALL
    )
    outs = [mapper(d) for d in views]
    # delta = 60 - 25 = 35: starts 1, 1 + round(17.5) = 19, 36
    starts = [int(o["frame_numbers"][0]) for o in outs]
    assert starts == [1, 1, 1, 19, 19, 19, 36, 36, 36]
    for o in outs:
        assert o["labels"].tolist() == [1.0, 1.0, 0.0, 0.0]  # video-level labels
        assert tuple(o["clip"].shape) == (3, 4, 24, 24)
    # frames are 40x24: resized short side 24 keeps 40x24; crops x0 = 0 / 8 / 16
    left, centre, right = (outs[i]["clip"][0, 0, 0] for i in range(3))
    assert (left[:8] < 5).all() and (centre[:8] > 0).all() and (right > 0).all()
    assert outs[0]["view"] == (0, 0) and outs[8]["view"] == (2, 2)


def test_short_video_is_padded_with_last_frame(charades_root, fx):
    v = _videos(charades_root)["VIDB2"]  # 10 frames
    mapper = ClipDatasetMapper(True, num_frames=4, sampling_rate=4, **SMALL)
    out = mapper(v)
    assert out["frame_numbers"].tolist() == [1, 5, 9, 10]
    assert all(abs(g - fx.level(n)) <= 2 for g, n in zip(_levels(out["clip"]), [1, 5, 9, 10]))
    assert out["clip_center_sec"] == pytest.approx(4.5 / 24)


def test_reversed_and_overlong_segments(charades_root):
    v = _videos(charades_root)["VIDD4"]  # c003 1.50 0.50 (reversed), c002 1.00 9.00
    mapper = ClipDatasetMapper(
        False, num_frames=48, sampling_rate=1, num_temporal_views=1, num_spatial_crops=1, **SMALL
    )
    out = mapper(dict(v, view=(0, 0)))
    assert out["labels"].tolist() == [0, 0, 1, 1]  # video level: both classes
    train = ClipDatasetMapper(True, num_frames=48, sampling_rate=1, **SMALL)
    assert train(v)["labels"].tolist() == [0, 0, 1, 0]  # the reversed segment labels no frame


def test_video_source_matches_frames(charades_root):
    v = _videos(charades_root)["VIDA1"]
    kw = dict(num_frames=4, sampling_rate=8, num_temporal_views=2, num_spatial_crops=1, **SMALL)
    from_frames = ClipDatasetMapper(False, **kw)
    from_video = ClipDatasetMapper(False, source="video", **kw)
    a, b = from_frames(dict(v, view=(1, 0))), from_video(dict(v, view=(1, 0)))
    assert a["frame_numbers"].tolist() == b["frame_numbers"].tolist() == [36, 44, 52, 60]
    assert b["clip"].shape == a["clip"].shape
    # different content by design: the 30-fps video's frame at t shows level 4 * (floor(30 t) + 1)
    t = (np.array([36, 44, 52, 60]) - 1) / 24
    expected = (4 * (np.floor(30 * t + 1e-3) + 1)) % 256
    assert np.abs(np.array(_levels(b["clip"])) - expected).max() <= 2


def test_from_config(charades_root):
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE = 64, 2
    cfg.INPUT.CLIP.TRAIN_JITTER_SCALES = (256, 340)
    m = ClipDatasetMapper(cfg, is_train=True)
    got = (m.num_frames, m.sampling_rate, m.jitter_scales, m.train_crop_size)
    assert got == (64, 2, (256, 340), 224)
    t = ClipDatasetMapper(cfg, is_train=False)
    assert (t.num_temporal_views, t.num_spatial_crops, t.test_crop_size) == (10, 3, 256)


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(source="gif"), "INPUT.CLIP.SOURCE"),
        (dict(jitter_scales=(16, 30)), "TRAIN_JITTER_SCALES"),
        (dict(jitter_scales=(30, 24)), "TRAIN_JITTER_SCALES"),
        (dict(num_spatial_crops=2), "NUM_SPATIAL_CROPS"),
        (dict(num_frames=0), "NUM_FRAMES"),
    ],
)
def test_bad_config(kw, match):
    args = dict(num_frames=4, sampling_rate=2, **SMALL)
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        ClipDatasetMapper(True, **args)


def test_missing_frame_folder_and_file(charades_root, tmp_path):
    v = dict(_videos(charades_root)["VIDA1"])
    mapper = ClipDatasetMapper(True, num_frames=4, sampling_rate=1, **SMALL)
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*frame folder .* does not exist"):
        mapper(dict(v, frame_dir=str(tmp_path / "none")))
    d = tmp_path / "VIDA1"
    shutil.copytree(v["frame_dir"], d)
    for n in range(1, 60):  # keep frame 60 only: the count is 1, frame 1 is missing
        os.remove(d / f"VIDA1-{n:06d}.jpg")
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*VIDA1-000001\.jpg does not exist"):
        mapper(dict(v, frame_dir=str(d)))


def test_view_past_the_end_and_missing_view(charades_root):
    v = _videos(charades_root)["VIDA1"]
    mapper = ClipDatasetMapper(
        False, num_frames=4, sampling_rate=1, num_temporal_views=2, num_spatial_crops=1, **SMALL
    )
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*view \(2, 0\) outside 2 temporal"):
        mapper(dict(v, view=(2, 0)))
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*needs 'view'"):
        mapper(v)


@pytest.mark.parametrize("is_train", [True, False])
def test_class_outside_vocabulary(charades_root, is_train):
    v = dict(_videos(charades_root)["VIDA1"], actions=[(9, 0.0, 5.0)], view=(0, 0))
    mapper = ClipDatasetMapper(
        is_train, num_frames=2, sampling_rate=1, num_temporal_views=1, num_spatial_crops=1, **SMALL
    )
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*class 9 outside the 4 classes"):
        mapper(v)


def test_video_source_missing_file(charades_root, tmp_path):
    v = _videos(charades_root)["VIDA1"]
    mapper = ClipDatasetMapper(
        True, num_frames=2, sampling_rate=1, source="video", video_dir=str(tmp_path), **SMALL
    )
    with pytest.raises(DatasetFormatError, match=r"'VIDA1'.*VIDA1\.mp4 does not exist"):
        mapper(v)

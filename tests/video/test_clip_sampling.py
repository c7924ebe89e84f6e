"""Clip index sampling, padding, views, labels and the boundary rule: hand-checked cases."""

import numpy as np
import pytest

from ag_detectron.data import clip_sampling as cs
from ag_detectron.errors import ConfigError, DatasetFormatError


@pytest.mark.parametrize(
    "num_frames,rate,span", [(8, 8, 57), (64, 2, 127), (32, 4, 125), (4, 1, 4), (1, 5, 1)]
)
def test_clip_span(num_frames, rate, span):
    assert cs.clip_span(num_frames, rate) == span


@pytest.mark.parametrize("num_frames,rate", [(0, 2), (4, 0), (2.5, 1), (-1, 1)])
def test_clip_shape_errors_name_the_key(num_frames, rate):
    with pytest.raises(ConfigError, match="INPUT.CLIP"):
        cs.clip_span(num_frames, rate)


@pytest.mark.parametrize(
    "start,num_frames,rate,total,expected,padded",
    [
        (1, 4, 1, 10, [1, 2, 3, 4], 0),
        (3, 4, 2, 10, [3, 5, 7, 9], 0),
        (2, 3, 4, 10, [2, 6, 10], 0),
        (5, 3, 8, 30, [5, 13, 21], 0),
        # SlowFast 64x2 at frame 10 of a 200-frame video: 10, 12, ..., 136
        (10, 64, 2, 200, list(range(10, 137, 2)), 0),
        # LFB 32x4 from frame 1: 1, 5, ..., 125
        (1, 32, 4, 300, list(range(1, 126, 4)), 0),
        # shorter than the clip: the last frame repeats
        (1, 4, 4, 6, [1, 5, 6, 6], 2),
        (1, 5, 2, 1, [1, 1, 1, 1, 1], 4),
    ],
)
def test_clip_frame_numbers(start, num_frames, rate, total, expected, padded):
    frames, num_padded = cs.clip_frame_numbers(start, num_frames, rate, total, "V")
    assert frames.dtype == np.int64
    assert frames.tolist() == expected
    assert num_padded == padded


@pytest.mark.parametrize("start", [0, 11, 100])
def test_clip_start_outside_video_names_it(start):
    with pytest.raises(DatasetFormatError, match=r"'VID01'.*start frame %d.*1\.\.10" % start):
        cs.clip_frame_numbers(start, 4, 2, 10, "VID01")


def test_train_start_is_uniform_over_fitting_starts():
    rng = np.random.default_rng(0)
    # 20 frames, span 7 (4 x 2): starts 1..14, all of them drawn, none other
    starts = {cs.train_clip_start(20, 4, 2, rng) for _ in range(2000)}
    assert starts == set(range(1, 15))
    # exact fit: only start 1; shorter video: start 1 too (then padded)
    assert {cs.train_clip_start(7, 4, 2, rng) for _ in range(50)} == {1}
    assert {cs.train_clip_start(3, 4, 2, rng) for _ in range(50)} == {1}


@pytest.mark.parametrize(
    "total,num_frames,rate,views,expected",
    [
        # delta = 100 - 57 = 43; gap 43/9 = 4.777..: round(i * gap) = 0 5 10 14 19 24 29 33 38 43
        (100, 8, 8, 10, [1, 6, 11, 15, 20, 25, 30, 34, 39, 44]),
        # delta = 20 - 4 = 16; 3 views: 0, 8, 16
        (20, 4, 1, 3, [1, 9, 17]),
        # one view: centred, round(16 / 2) = 8
        (20, 4, 1, 1, [9]),
        # delta 5, one view: round(2.5) = 2 (half to even, as Python / PySlowFast)
        (9, 4, 1, 1, [3]),
        # shorter than the clip: every view starts at frame 1
        (50, 64, 2, 4, [1, 1, 1, 1]),
        # SlowFast 64x2 on a 30 s video (720 frames): delta 593, gap 65.888..
        (720, 64, 2, 10, [1, 67, 133, 199, 265, 330, 396, 462, 528, 594]),
    ],
)
def test_test_clip_starts(total, num_frames, rate, views, expected):
    starts = cs.test_clip_starts(total, num_frames, rate, views)
    assert starts == expected
    span = cs.clip_span(num_frames, rate)
    if total >= span:  # the last view ends exactly at the last frame
        assert starts[-1] + span - 1 == total or views == 1


def test_test_clip_starts_bad_views():
    with pytest.raises(ConfigError, match="NUM_ENSEMBLE_VIEWS"):
        cs.test_clip_starts(10, 2, 2, 0)


def test_clip_center_sec():
    # frames 13 .. 61: times 0.5 s and 2.5 s
    assert cs.clip_center_sec([13, 25, 37, 49, 61]) == pytest.approx(1.5)
    assert cs.clip_center_sec([1]) == 0.0


def test_boundary_rule_is_strict():
    # frame 25 is at t = 1.0 s exactly, frame 13 at 0.5 s
    actions = [(0, 0.5, 1.0)]
    assert cs.active_classes(actions, [13]) == []  # t == start
    assert cs.active_classes(actions, [25]) == []  # t == end
    assert cs.active_classes(actions, [14]) == [0]  # t = 0.5417
    assert cs.active_classes(actions, [24]) == [0]  # t = 0.9583


def test_clip_labels_union_reversed_and_overlong():
    actions = [
        (0, 0.0, 1.0),  # frames 2..24
        (1, 1.5, 2.4),  # frames 38..58
        (2, 2.0, 1.0),  # reversed: labels no frame
        (3, 2.0, 99.0),  # ends after the video: used as written
    ]
    labels = cs.clip_labels(actions, [1, 9, 17, 25], 5, "V")  # t = 0, .33, .67, 1.0
    assert labels.dtype == np.float32 and labels.tolist() == [1, 0, 0, 0, 0]
    labels = cs.clip_labels(actions, [25, 41, 57], 5, "V")  # t = 1.0, 1.67, 2.33
    assert labels.tolist() == [0, 1, 0, 1, 0]
    labels = cs.clip_labels(actions, [1], 5, "V")  # t = 0 == start of class 0
    assert labels.tolist() == [0, 0, 0, 0, 0]


def test_clip_labels_class_outside_vocabulary():
    with pytest.raises(DatasetFormatError, match=r"'VID9'.*class 7 outside the 4 classes"):
        cs.clip_labels([(7, 0.0, 5.0)], [2], 4, "VID9")


@pytest.mark.parametrize(
    "h,w,size,index,crops,expected",
    [
        (256, 341, 256, 0, 3, (0, 0)),  # landscape: left
        (256, 341, 256, 1, 3, (0, 43)),  # centre: ceil(85 / 2)
        (256, 341, 256, 2, 3, (0, 85)),  # right
        (341, 256, 256, 0, 3, (0, 0)),  # portrait: top
        (341, 256, 256, 2, 3, (85, 0)),  # bottom
        (300, 400, 256, 0, 1, (22, 72)),  # one crop: the centre
        (256, 256, 256, 2, 3, (0, 0)),
    ],
)
def test_spatial_crop_offsets(h, w, size, index, crops, expected):
    assert cs.spatial_crop_offsets(h, w, size, index, crops) == expected


def test_spatial_crop_errors():
    with pytest.raises(ConfigError, match="NUM_SPATIAL_CROPS"):
        cs.spatial_crop_offsets(256, 300, 256, 0, 2)
    with pytest.raises(DatasetFormatError, match="smaller than the crop"):
        cs.spatial_crop_offsets(100, 300, 256, 0, 3)

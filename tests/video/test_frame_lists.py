"""SlowFast / LFB frame lists: parsing, per-frame labels for clips, the task key, bad input."""

import os

import pytest
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.config import add_ag_config
from ag_detectron.data.clip_mapper import ClipDatasetMapper
from ag_detectron.data.datasets import load_charades, register_charades
from ag_detectron.data.datasets.charades_frame_lists import attach_frame_list, read_frame_list
from ag_detectron.engine.clip_task import ClipClassificationTask
from ag_detectron.errors import DatasetFormatError

HEADER = "original_vido_id video_id frame_id path labels"


def _rows(vid, index, n, labels_of):
    return [f'{vid} {index} {i} {vid}/{vid}-{i + 1:06d}.jpg "{labels_of(i)}"' for i in range(n)]


def write_list(path, lines):
    with open(path, "w") as f:
        f.write("\n".join([HEADER] + lines) + "\n")


@pytest.fixture
def lists(charades_root, tmp_path):
    # VIDA1: class 1 on frames 0-9 (0-based), classes 0 and 3 on frames 20-29; VIDB2 unlabeled
    a = _rows("VIDA1", 0, 60, lambda i: "1" if i < 10 else ("0,3" if 20 <= i < 30 else ""))
    b = _rows("VIDB2", 1, 10, lambda i: "")
    write_list(tmp_path / "train.csv", a + b)
    write_list(tmp_path / "val.csv", a)
    return str(tmp_path)


def test_read_frame_list(charades_root, lists):
    root = os.path.join(charades_root, "Charades_v1_rgb")
    videos = read_frame_list(os.path.join(lists, "train.csv"), root, 4)
    assert list(videos) == ["VIDA1", "VIDB2"]
    a = videos["VIDA1"]
    assert len(a["frame_paths"]) == 60 and a["frame_labels"][0] == [1]
    assert a["frame_labels"][20] == [0, 3] and a["frame_labels"][15] == []
    assert a["frame_paths"][0] == os.path.join(root, "VIDA1", "VIDA1-000001.jpg")


def test_clip_labels_from_frame_labels(charades_root, lists):
    dicts = attach_frame_list(
        load_charades(charades_root, "train"),
        os.path.join(lists, "train.csv"),
        os.path.join(charades_root, "Charades_v1_rgb"),
    )
    assert [d["video_id"] for d in dicts] == ["VIDA1", "VIDB2"]
    mapper = ClipDatasetMapper(
        True, num_frames=2, sampling_rate=20, jitter_scales=(24, 24), train_crop_size=24
    )
    for _ in range(20):
        out = mapper(dicts[0])
        f = [int(n) - 1 for n in out["frame_numbers"]]  # 0-based rows of the list
        expect = [0.0] * 4
        for i in f:
            for c in [1] if i < 10 else ([0, 3] if 20 <= i < 30 else []):
                expect[c] = 1.0
        assert out["labels"].tolist() == expect


def test_task_key(charades_root, lists):
    name = "frame_list_test_charades"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_charades(name, charades_root, "test")
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.INPUT.CLIP.FRAME_LIST_DIR = lists
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE = 2, 2
    cfg.INPUT.CLIP.TEST_CROP_SIZE = 24
    cfg.TEST.CLIP.NUM_ENSEMBLE_VIEWS, cfg.TEST.CLIP.NUM_SPATIAL_CROPS = 1, 1
    items = [d for b in ClipClassificationTask.build_test_loader(cfg, name) for d in b]
    assert [d["video_id"] for d in items] == ["VIDA1"]  # val.csv lists VIDA1 only


@pytest.mark.parametrize(
    "lines,match",
    [
        (['VIDA1 0 0 VIDA1/VIDA1-000001.jpg "7"'], r"line 2: field 'labels' class '7'"),
        (['VIDA1 0 1 VIDA1/VIDA1-000001.jpg ""'], r"line 2: field 'frame_id' '1'.*expected 0"),
        (["VIDA1 0 0 VIDA1/VIDA1-000001.jpg"], r"line 2: 4 fields"),
        (
            _rows("VIDA1", 0, 1, str)
            + _rows("VIDB2", 1, 1, str)
            + ['VIDA1 0 1 VIDA1/VIDA1-000002.jpg ""'],
            r"line 4: rows of video 'VIDA1' are not contiguous",
        ),
    ],
)
def test_bad_frame_lists(tmp_path, lines, match):
    write_list(tmp_path / "train.csv", lines)
    with pytest.raises(DatasetFormatError, match=match):
        read_frame_list(str(tmp_path / "train.csv"), str(tmp_path), 4)


def test_bad_header_and_unknown_video(charades_root, tmp_path):
    (tmp_path / "x.csv").write_text("id frame path\n")
    with pytest.raises(DatasetFormatError, match="header"):
        read_frame_list(str(tmp_path / "x.csv"), str(tmp_path), 4)
    write_list(tmp_path / "train.csv", _rows("ZZZZZ", 0, 2, lambda i: ""))
    with pytest.raises(DatasetFormatError, match=r"1 videos not in the dataset.*ZZZZZ"):
        attach_frame_list(load_charades(charades_root, "train"), str(tmp_path / "train.csv"), "")

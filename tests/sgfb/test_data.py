"""Bank windows in the loader: the mapper contract, provenance checks, missing videos."""

import logging
import pickle

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.data.bank_mapper import FeatureBankClipMapper
from ag_detectron.engine import FeatureBankClassificationTask, task_of
from ag_detectron.errors import ConfigError
from ag_detectron.feature_bank import BankProvenance, FeatureBankError
from ag_detectron.feature_bank.scene_graph import scene_graph_provenance

from .conftest import BANK_VIDEOS, entry_value, write_bank


def test_task_is_chosen_by_the_model(cfg):
    assert task_of(cfg) is FeatureBankClassificationTask
    assert FeatureBankClassificationTask.name == "feature_bank_classification"


def test_mapper_window_contract(cfg, dataset):
    from detectron2.data import DatasetCatalog

    dicts = {d["video_id"]: d for d in DatasetCatalog.get(dataset)}
    cfg.MODEL.SGFB.WINDOW.SIZE = 6
    cfg.MODEL.SGFB.WINDOW.SPAN = 2.0
    mapper = FeatureBankClipMapper(cfg, is_train=False)
    d = dict(dicts["VIDD4"], view=(1, 0))  # 48 frames = 2.0 s; last temporal view of 2
    out = mapper(d)
    assert out["bank_window"].dtype == torch.float32 and out["bank_window"].shape == (6, 910)
    assert out["bank_mask"].dtype == torch.bool and out["bank_mask"].shape == (6,)
    centre = out["clip_center_sec"]
    # entries at 0, 0.5, 1.0, 1.5 s; the span is [centre - 1, centre + 1)
    times = np.arange(4) * 0.5
    want = [k for k, t in enumerate(times) if centre - 1.0 <= t < centre + 1.0]
    assert out["bank_mask"].tolist() == [True] * len(want) + [False] * (6 - len(want))
    v = BANK_VIDEOS.index("VIDD4")
    for row, k in enumerate(want):
        assert torch.all(out["bank_window"][row] == entry_value(v, k))
    assert torch.all(out["bank_window"][len(want) :] == 0)
    # the clip part is the clip mapper's output, unchanged
    assert out["clip"].dtype == torch.uint8 and out["clip"].shape[:2] == (3, 4)
    # pickled (into a data-loader worker) without its memory maps; reopened lazily
    clone = pickle.loads(pickle.dumps(mapper))
    assert clone._bank is None
    torch.testing.assert_close(clone(d)["bank_window"], out["bank_window"])


def test_train_loader_batches_carry_windows(cfg):
    batch = next(iter(FeatureBankClassificationTask.build_train_loader(cfg)))
    assert len(batch) == cfg.SOLVER.IMS_PER_BATCH
    for b in batch:
        assert b["bank_window"].shape == (20, 910) and b["bank_mask"].any()
        v = BANK_VIDEOS.index(b["video_id"])
        first = int(b["bank_mask"].nonzero()[0])
        assert float(b["bank_window"][first, 0]) >= entry_value(v, 0)
        assert float(b["bank_window"][first, 0]) < entry_value(v + 1, 0)


@pytest.mark.parametrize(
    "found,match",
    [
        (scene_graph_provenance("oracle", rate=None), '\'kind\': "oracle", expected "scene_graph"'),
        (scene_graph_provenance(num_predicates=25), "'vocabulary'\\['predicates'\\]"),
        (BankProvenance("lfb", 16, 2.0, {"feature_dim": 16}), "'kind'"),
    ],
)
def test_bank_of_another_kind_or_vocabulary_is_refused(cfg, tmp_path, found, match):
    cfg.MODEL.SGFB.BANK_DIR = write_bank(str(tmp_path / "bank"), found)
    cfg.MODEL.SGFB.BANK_DIM = 0  # width from the bank: kind and vocabulary are what differ
    with pytest.raises(FeatureBankError, match=f"index.json.*{match}"):
        build_model(cfg)
    with pytest.raises(FeatureBankError, match=match):
        FeatureBankClassificationTask.build_train_loader(cfg)
    with pytest.raises(FeatureBankError, match=match):
        _ = FeatureBankClipMapper(cfg, is_train=True).bank


def test_lfb_bank_with_lfb_kind(cfg, tmp_path):
    cfg.MODEL.SGFB.BANK_DIR = write_bank(
        str(tmp_path / "lfb"), BankProvenance("lfb", 16, 2.0, {"feature_dim": 16})
    )
    cfg.MODEL.SGFB.BANK_KIND = "lfb"
    cfg.MODEL.SGFB.BANK_DIM = 0
    model = build_model(cfg)
    assert model.fbo.bank_proj.in_features == 16
    cfg.MODEL.SGFB.BANK_DIM = 32
    with pytest.raises(FeatureBankError, match="'dim': 16, expected 32"):
        build_model(cfg)


def test_missing_video_error(cfg, tmp_path):
    cfg.MODEL.SGFB.BANK_DIR = write_bank(
        str(tmp_path / "part"), scene_graph_provenance(), videos=("VIDA1", "VIDB2")
    )
    with pytest.raises(ConfigError, match="1 videos of dataset.*not in the bank.*VIDD4"):
        FeatureBankClassificationTask.build_test_loader(cfg, cfg.DATASETS.TEST[0])


def test_missing_video_zero(cfg, tmp_path, caplog):
    cfg.MODEL.SGFB.BANK_DIR = write_bank(
        str(tmp_path / "part"), scene_graph_provenance(), videos=("VIDA1", "VIDB2")
    )
    cfg.MODEL.SGFB.BANK_MISSING = "zero"
    with caplog.at_level(logging.WARNING):
        loader = FeatureBankClassificationTask.build_test_loader(cfg, cfg.DATASETS.TEST[0])
        items = [d for batch in loader for d in batch]
    lines = [r.getMessage() for r in caplog.records if "not in the bank" in r.getMessage()]
    assert len(lines) == 1 and "1 videos of" in lines[0] and "VIDD4" in lines[0]
    by_video = {}
    for d in items:
        by_video.setdefault(d["video_id"], []).append(d)
    assert set(by_video) == {"VIDA1", "VIDB2", "VIDD4"}
    assert all(not d["bank_mask"].any() and not d["bank_window"].any() for d in by_video["VIDD4"])
    assert all(d["bank_mask"].any() for d in by_video["VIDA1"])


def test_mapper_missing_video_error_names_bank_and_video(cfg, dataset, tmp_path):
    from detectron2.data import DatasetCatalog

    cfg.MODEL.SGFB.BANK_DIR = write_bank(
        str(tmp_path / "part"), scene_graph_provenance(), videos=("VIDA1",)
    )
    d = {x["video_id"]: x for x in DatasetCatalog.get(dataset)}["VIDB2"]
    mapper = FeatureBankClipMapper(cfg, is_train=True)
    with pytest.raises(FeatureBankError, match="part/index.json: video 'VIDB2' is not in"):
        mapper(d)
    cfg.MODEL.SGFB.BANK_MISSING = "zero"
    mapper = FeatureBankClipMapper(cfg, is_train=True)
    out = mapper(d)
    assert mapper.missing_reads == 1 and not out["bank_mask"].any()
    assert out["bank_window"].shape == (20, 910)

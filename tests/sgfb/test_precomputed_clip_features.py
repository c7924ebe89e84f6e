"""Precomputed clip features (MODEL.SGFB.CLIP_FEATURE_BANK): S read from an LFB-kind bank of the
model's own frozen backbone instead of decoding the clip (docs/feature_bank.md "Precomputed clip
features")."""

import json
import os

import numpy as np
import pytest
import torch
from detectron2.engine import default_argument_parser
from detectron2.modeling import build_model

from ag_detectron.checkpoint import VideoCheckpointer
from ag_detectron.config import get_ag_cfg
from ag_detectron.data.bank_mapper import FeatureBankClipMapper
from ag_detectron.data.clip_mapper import expand_test_views
from ag_detectron.engine.testing import load_tool
from ag_detectron.errors import ConfigError
from ag_detectron.feature_bank import BankProvenance, FeatureBank, FeatureBankError
from ag_detectron.feature_bank.extract import ClipFeatureProducer, ExtractOptions, extract_worker
from ag_detectron.feature_bank.from_config import nearest_entry

from .conftest import BANK_VIDEOS, CONFIG_DIR, TINY_CLIP_OPTS, entry_value, write_bank

SHAPE = [
    *TINY_CLIP_OPTS,
    "MODEL.VIDEO.STEM_WIDTH",
    "8",
    "TEST.CLIP.NUM_ENSEMBLE_VIEWS",
    "2",
    "TEST.CLIP.NUM_SPATIAL_CROPS",
    "1",
    "SOLVER.CHECKPOINT_PERIOD",
    "100",
]


def _train(config, dataset, out, *extra):
    argv = ["--config-file", os.path.join(CONFIG_DIR, config)]
    argv += ["DATASETS.TRAIN", f"('{dataset}',)", "DATASETS.TEST", f"('{dataset}',)"]
    argv += ["OUTPUT_DIR", out, *SHAPE, "SOLVER.MAX_ITER", "2", *extra]
    load_tool("train_net").main(default_argument_parser().parse_args(argv))
    return os.path.join(out, "model_final.pth")


@pytest.fixture(scope="module")
def stage1(tmp_path_factory, charades_root):
    """A stage-1 clip classifier (2 iterations) and the LFB bank of its backbone."""
    from detectron2.data import DatasetCatalog

    from ag_detectron.data.datasets import register_charades

    name = "precomputed_clip_charades"
    if name not in DatasetCatalog.list():
        register_charades(name, charades_root, "test")
    root = tmp_path_factory.mktemp("precomputed")
    weights = _train(
        "quick_schedules/clip_classifier_synth_instant_test.yaml", name, str(root / "clip")
    )
    bank = str(root / "clip_bank")
    opts = ExtractOptions(batch_size=4, num_workers=0, progress=False, fsync=False)
    extract_worker(
        "lfb",
        os.path.join(root, "clip", "config.yaml"),
        ["MODEL.WEIGHTS", weights],
        [name],
        bank,
        opts,
        cpu=True,
    )
    return {"dataset": name, "weights": weights, "bank": bank, "root": root}


def _stage2_opts(stage1, sg_bank):
    """Stage 2 on the stage-1 weights (frozen) with the precomputed clip features."""
    return [
        "MODEL.SGFB.BANK_DIR",
        sg_bank,
        "MODEL.WEIGHTS",
        stage1["weights"],
        "MODEL.SGFB.FREEZE_BACKBONE",
        "True",
        "MODEL.SGFB.CLIP_FEATURE_BANK",
        stage1["bank"],
    ]


def _sgfb_cfg(stage1, sg_bank, *extra):
    return get_ag_cfg(
        os.path.join(CONFIG_DIR, "quick_schedules", "sgfb_synth_instant_test.yaml"),
        [
            *SHAPE,
            "DATASETS.TRAIN",
            f"('{stage1['dataset']}',)",
            "DATASETS.TEST",
            f"('{stage1['dataset']}',)",
            "MODEL.DEVICE",
            "cpu",
            *_stage2_opts(stage1, sg_bank),
            *extra,
        ],
    )


def _loaded_model(cfg):
    model = build_model(cfg)
    VideoCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    return model.eval()


def test_bank_entries_are_the_sgfb_backbones_features(stage1, sg_bank):
    """Entry k of a video = the loaded SGFB backbone's S of the clip centred at k / rate."""
    cfg = _sgfb_cfg(stage1, sg_bank)
    model = _loaded_model(cfg)
    bank = FeatureBank(stage1["bank"])
    clip_cfg = get_ag_cfg(
        os.path.join(stage1["root"], "clip", "config.yaml"), ["MODEL.WEIGHTS", stage1["weights"]]
    )
    producer = ClipFeatureProducer(clip_cfg, ExtractOptions(num_workers=0, progress=False))
    from detectron2.data import DatasetCatalog

    d = next(x for x in DatasetCatalog.get(stage1["dataset"]) if x["video_id"] == "VIDA1")
    item = producer.prepare(d)
    assert len(item.times) == len(bank.times("VIDA1")) >= 2
    with torch.no_grad():
        s = model.clip_features([{"clip": producer.unit(item, j)} for j in range(len(item.times))])
    np.testing.assert_allclose(
        bank.entries("VIDA1").astype(np.float32), s.numpy(), rtol=1e-2, atol=1e-3
    )


def test_mapper_reads_the_nearest_entry_without_decoding(stage1, sg_bank, monkeypatch):
    cfg = _sgfb_cfg(stage1, sg_bank)
    from detectron2.data import DatasetCatalog

    videos = [d for d in DatasetCatalog.get(stage1["dataset"]) if d["video_id"] in BANK_VIDEOS]
    dicts = expand_test_views(videos, 2, 1)
    decoded = FeatureBankClipMapper(cfg.clone(), is_train=False)
    plain = cfg.clone()
    plain.defrost()
    plain.MODEL.SGFB.CLIP_FEATURE_BANK = ""
    reference = FeatureBankClipMapper(plain, is_train=False)
    bank = FeatureBank(stage1["bank"])
    expected = [reference(d) for d in dicts]

    def no_decoding(*args, **kwargs):
        raise AssertionError("a frame was decoded")

    monkeypatch.setattr(type(decoded.clip_mapper), "read", no_decoding)
    for d, ref in zip(dicts, expected):
        out = decoded(d)
        assert "clip" not in out and out["clip_feature"].shape == (bank.dim,)
        for key in ("video_id", "view", "clip_center_sec"):
            assert out[key] == ref[key]
        for key in ("labels", "frame_numbers", "bank_window", "bank_mask"):
            assert torch.equal(out[key], ref[key])
        times = bank.times(d["video_id"])
        k = int(np.argmin(np.abs(times - ref["clip_center_sec"])))
        np.testing.assert_array_equal(
            out["clip_feature"].numpy(), bank.entries(d["video_id"])[k].astype(np.float32)
        )


def test_training_and_evaluation_with_precomputed_features(stage1, sg_bank, tmp_path):
    out = str(tmp_path / "sgfb")
    _train(
        "quick_schedules/sgfb_synth_instant_test.yaml",
        stage1["dataset"],
        out,
        *_stage2_opts(stage1, sg_bank),
        "DATALOADER.NUM_WORKERS",
        "0",
    )
    with open(os.path.join(out, "metrics.json")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert [r for r in rows if "total_loss" in r]
    assert any("charades/mAP" in r for r in rows)
    before = torch.load(stage1["weights"], map_location="cpu")["model"]
    after = torch.load(os.path.join(out, "model_final.pth"), map_location="cpu")["model"]
    for k in (k for k in before if k.startswith("backbone.")):
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0)


def test_features_of_another_backbone_are_refused(stage1, sg_bank, tmp_path):
    state = torch.load(stage1["weights"], map_location="cpu")
    key = next(k for k in state["model"] if k.startswith("backbone.") and "weight" in k)
    state["model"][key] = state["model"][key] + 0.01
    other = str(tmp_path / "other.pth")
    torch.save(state, other)
    cfg = _sgfb_cfg(stage1, sg_bank, "MODEL.WEIGHTS", other)
    model = _loaded_model(cfg)
    mapper = FeatureBankClipMapper(cfg, is_train=True)
    from detectron2.data import DatasetCatalog

    batch = [mapper(DatasetCatalog.get(stage1["dataset"])[0])]
    with pytest.raises(FeatureBankError, match=r"clip_bank.*backbone.*MODEL.WEIGHTS"):
        model(batch)


def test_bad_clip_feature_banks(stage1, sg_bank, tmp_path):
    with pytest.raises(ConfigError, match="FREEZE_BACKBONE"):
        build_model(_sgfb_cfg(stage1, sg_bank, "MODEL.SGFB.FREEZE_BACKBONE", "False"))
    # a scene-graph bank is not a clip-feature bank
    with pytest.raises(FeatureBankError, match="kind"):
        build_model(_sgfb_cfg(stage1, sg_bank, "MODEL.SGFB.CLIP_FEATURE_BANK", sg_bank))
    # an LFB bank without the backbone's identity (cannot be matched to the weights)
    dim = FeatureBank(stage1["bank"]).dim
    anonymous = write_bank(
        str(tmp_path / "anonymous"), BankProvenance("lfb", dim, 2.0, {"feature_dim": dim})
    )
    with pytest.raises(FeatureBankError, match="backbone_hash"):
        build_model(_sgfb_cfg(stage1, sg_bank, "MODEL.SGFB.CLIP_FEATURE_BANK", anonymous))
    # a video of the dataset without clip features: refused when the loader is built
    vocab = FeatureBank(stage1["bank"]).provenance.vocabulary
    partial = write_bank(
        str(tmp_path / "partial"), BankProvenance("lfb", dim, 2.0, vocab), videos=BANK_VIDEOS[:2]
    )
    from ag_detectron.engine.feature_bank_task import FeatureBankClassificationTask

    cfg = _sgfb_cfg(stage1, sg_bank, "MODEL.SGFB.CLIP_FEATURE_BANK", partial)
    with pytest.raises(ConfigError, match=r"partial.*no precomputed clip features.*VIDD4"):
        FeatureBankClassificationTask.build_train_loader(cfg)


def test_nearest_entry(sg_bank):
    bank = FeatureBank(sg_bank)  # entry k of video v at 0.5 k s holds 100 v + k
    assert bank.times("VIDA1").tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]  # 60 frames = 2.5 s
    for centre, k in ((-1.0, 0), (0.2, 0), (0.25, 0), (0.26, 1), (1.74, 3), (1.76, 4), (9.0, 4)):
        assert nearest_entry(bank, "VIDA1", centre)[0] == entry_value(0, k)
    with pytest.raises(FeatureBankError, match="VIDC3"):
        nearest_entry(bank, "VIDC3", 0.0)

"""SGFB meta-architecture: shapes, frozen backbone, stage-1 weights, NL identity at init."""

import os

import pytest
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.checkpoint import VideoCheckpointer
from ag_detectron.config import add_ag_config
from ag_detectron.errors import CheckpointError, ConfigError

from .conftest import CONFIG_DIR

K, W, D = 5, 6, 12


def small_cfg(fbo: str = "nl", freeze: bool = True, arch: str = "SGFB"):
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(os.path.join(CONFIG_DIR, "quick_schedules", "sgfb_synth_instant_test.yaml"))
    cfg.MODEL.META_ARCHITECTURE = arch
    cfg.MODEL.DEVICE = "cpu"
    cfg.DATASETS.TRAIN = cfg.DATASETS.TEST = ()
    cfg.MODEL.VIDEO.NUM_CLASSES = K
    cfg.MODEL.SGFB.BANK_DIR = ""
    cfg.MODEL.SGFB.BANK_DIM = D
    cfg.MODEL.SGFB.FBO.NAME = fbo
    cfg.MODEL.SGFB.FREEZE_BACKBONE = freeze
    return cfg


def inputs(n: int = 2, seed: int = 0, real=None):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        mask = torch.zeros(W, dtype=torch.bool)
        mask[: (real if real is not None else i + 2)] = True
        out.append(
            {
                "clip": torch.randint(0, 256, (3, 8, 32, 32), generator=g, dtype=torch.uint8),
                "labels": (torch.rand(K, generator=g) > 0.5).float(),
                "bank_window": torch.randn(W, D, generator=g) * mask[:, None],
                "bank_mask": mask,
                "video_id": f"V{i}",
            }
        )
    return out


@pytest.mark.parametrize("fbo,fbo_dim", [("avg", D), ("max", D), ("nl", 16)])
def test_shapes(fbo, fbo_dim):
    torch.manual_seed(0)
    model = build_model(small_cfg(fbo))
    ds = model.backbone.output_dim
    assert model.cls_head.in_features == ds + fbo_dim
    model.train()
    loss = model(inputs())
    assert set(loss) == {"loss_action"} and loss["loss_action"].ndim == 0
    model.eval()
    with torch.no_grad():
        out = model(inputs())
    assert len(out) == 2
    assert out[0]["scores"].shape == (K,) and out[0]["clip_feature"].shape == (ds,)
    assert bool(((out[0]["scores"] > 0) & (out[0]["scores"] < 1)).all())


def test_frozen_backbone_has_no_grad_and_stays_in_eval():
    torch.manual_seed(0)
    model = build_model(small_cfg("nl", freeze=True))
    model.train()
    assert not model.backbone.training and model.fbo.training
    model(inputs())["loss_action"].backward()
    assert all(p.grad is None and not p.requires_grad for p in model.backbone.parameters())
    assert model.cls_head.weight.grad is not None and model.cls_head.weight.grad.abs().sum() > 0
    assert model.fbo.clip_proj.weight.grad is not None


def test_unfrozen_backbone_trains():
    torch.manual_seed(0)
    model = build_model(small_cfg("avg", freeze=False))
    model.train()
    assert model.backbone.training
    model(inputs())["loss_action"].backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_nl_at_init_is_the_identity_path():
    """W_out = 0: the bank does not change the output, which is FC(concat(S, ReLU(proj(S))))."""
    torch.manual_seed(0)
    model = build_model(small_cfg("nl")).eval()
    batch = inputs(2, seed=1)
    other = [dict(x, bank_window=torch.randn(W, D) * 100) for x in batch]
    empty = [dict(x, bank_mask=torch.zeros(W, dtype=torch.bool)) for x in batch]
    with torch.no_grad():
        ref = torch.stack([o["scores"] for o in model(batch)])
        s = model.clip_features(batch)
        by_hand = model.cls_head(torch.cat([s, torch.relu(model.fbo.clip_proj(s))], 1)).sigmoid()
        for variant in (other, empty):
            got = torch.stack([o["scores"] for o in model(variant)])
            torch.testing.assert_close(got, ref)
    torch.testing.assert_close(ref, by_hand)


def test_avg_uses_the_bank():
    torch.manual_seed(0)
    model = build_model(small_cfg("avg")).eval()
    batch = inputs(2, seed=1)
    other = [dict(x, bank_window=x["bank_window"] + 1.0) for x in batch]
    with torch.no_grad():
        a = torch.stack([o["scores"] for o in model(batch)])
        b = torch.stack([o["scores"] for o in model(other)])
    assert not torch.allclose(a, b)


def test_stage1_clip_classifier_weights_load(tmp_path):
    torch.manual_seed(0)
    stage1 = build_model(small_cfg(arch="ClipClassifier"))
    path = str(tmp_path / "stage1.pth")
    torch.save({"model": stage1.state_dict(), "iteration": 7}, path)
    torch.manual_seed(1)
    model = build_model(small_cfg("nl"))
    fresh = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("backbone.")}
    VideoCheckpointer(model).load(path)
    state = model.state_dict()
    for k, v in stage1.state_dict().items():
        if k.startswith("backbone."):
            torch.testing.assert_close(state[k], v, rtol=0, atol=0)
    for k, v in fresh.items():  # FBO and the new classifier keep their initialisation
        torch.testing.assert_close(state[k], v, rtol=0, atol=0)
    assert not any(k.startswith("cls_score.") for k in state)


def test_own_checkpoint_missing_fbo_tensor_is_refused(tmp_path):
    torch.manual_seed(0)
    model = build_model(small_cfg("nl"))
    sd = model.state_dict()
    del sd["fbo.clip_proj.weight"]
    path = str(tmp_path / "sgfb.pth")
    torch.save({"model": sd}, path)
    with pytest.raises(CheckpointError, match="fbo.clip_proj.weight"):
        VideoCheckpointer(build_model(small_cfg("nl"))).load(path)


def test_missing_bank_inputs_and_dims():
    model = build_model(small_cfg("max")).eval()
    batch = inputs(1)
    del batch[0]["bank_window"]
    with pytest.raises(ValueError, match="V0.*bank_window"):
        model(batch)
    cfg = small_cfg("max")
    cfg.MODEL.SGFB.BANK_DIM = 0
    with pytest.raises(ConfigError, match="BANK_DIR is empty and MODEL.SGFB.BANK_DIM is 0"):
        build_model(cfg)

"""``SOLVER.OPTIMIZER``: ``Trainer.build_optimizer`` creates SGD or AdamW from the config."""

import unittest

import torch
from detectron2.config import get_cfg

from ag_detectron.config import add_ag_config
from ag_detectron.engine import Trainer
from ag_detectron.errors import ConfigError


def _cfg(**solver):
    cfg = get_cfg()
    add_ag_config(cfg)
    for key, value in solver.items():
        setattr(cfg.SOLVER, key, value)
    return cfg


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 2),
    )


class TestBuildOptimizer(unittest.TestCase):
    def test_default_is_sgd(self):
        cfg = _cfg()
        self.assertEqual(cfg.SOLVER.OPTIMIZER, "SGD")
        opt = Trainer.build_optimizer(cfg, _model())
        self.assertIsInstance(opt, torch.optim.SGD)
        self.assertEqual(opt.param_groups[0]["momentum"], cfg.SOLVER.MOMENTUM)

    def test_adamw_groups(self):
        cfg = _cfg(OPTIMIZER="adamw", BASE_LR=0.003, WEIGHT_DECAY=0.05, WEIGHT_DECAY_NORM=0.0)
        model = _model()
        opt = Trainer.build_optimizer(cfg, model)
        self.assertIsInstance(opt, torch.optim.AdamW)
        n_params = sum(len(g["params"]) for g in opt.param_groups)
        self.assertEqual(n_params, len(list(model.parameters())))
        bn_ids = {id(p) for p in model[1].parameters()}
        for group in opt.param_groups:
            self.assertAlmostEqual(group["lr"], 0.003)
            is_norm = all(id(p) in bn_ids for p in group["params"])
            self.assertAlmostEqual(group["weight_decay"], 0.0 if is_norm else 0.05)

    def test_adamw_fused_matches_reference(self):
        cfg = _cfg(OPTIMIZER="ADAMW", BASE_LR=0.01, WEIGHT_DECAY=0.05)

        def mlp():  # (a conv bias before BatchNorm has a ~0 gradient that Adam turns into noise)
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Flatten(),
                torch.nn.Linear(192, 16),
                torch.nn.ReLU(),
                torch.nn.LayerNorm(16),
                torch.nn.Linear(16, 2),
            )

        models = [mlp(), mlp()]
        fused = Trainer.build_optimizer(cfg, models[0])
        self.assertTrue(fused.defaults["fused"])
        reference = torch.optim.AdamW(
            [
                {"params": g["params"], "weight_decay": g["weight_decay"]}
                for g in Trainer.build_optimizer(cfg, models[1]).param_groups
            ],
            lr=0.01,
            foreach=False,
        )
        x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        y = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(2))
        for model, opt in zip(models, (fused, reference)):
            for _ in range(5):
                loss = torch.nn.functional.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
        for a, b in zip(models[0].parameters(), models[1].parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

    def test_adamw_step_with_clipping_reduces_loss(self):
        cfg = _cfg(OPTIMIZER="ADAMW", BASE_LR=0.01)
        cfg.SOLVER.CLIP_GRADIENTS.ENABLED = True
        model = _model()
        opt = Trainer.build_optimizer(cfg, model)
        self.assertIsInstance(opt, torch.optim.AdamW)
        x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        y = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(2))
        losses = []
        for _ in range(20):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.assertLess(losses[-1], losses[0])

    def test_unknown_name_raises(self):
        with self.assertRaisesRegex(ConfigError, "SOLVER.OPTIMIZER"):
            Trainer.build_optimizer(_cfg(OPTIMIZER="LAMB"), _model())


if __name__ == "__main__":
    unittest.main()

"""``DATALOADER.SHARING_STRATEGY``: applied when the trainer builds loaders; unknown names are
refused."""

import unittest

import torch
from detectron2.config import get_cfg

from ag_detectron.config import add_ag_config
from ag_detectron.engine.trainer import apply_sharing_strategy
from ag_detectron.errors import ConfigError


class TestSharingStrategy(unittest.TestCase):
    def setUp(self):
        self.before = torch.multiprocessing.get_sharing_strategy()
        self.addCleanup(torch.multiprocessing.set_sharing_strategy, self.before)
        self.cfg = get_cfg()
        add_ag_config(self.cfg)

    def test_default_keeps_pytorch_setting(self):
        self.assertEqual(self.cfg.DATALOADER.SHARING_STRATEGY, "")
        apply_sharing_strategy(self.cfg)
        self.assertEqual(torch.multiprocessing.get_sharing_strategy(), self.before)

    def test_file_system(self):
        if "file_system" not in torch.multiprocessing.get_all_sharing_strategies():
            self.skipTest("platform without the file_system strategy")
        self.cfg.DATALOADER.SHARING_STRATEGY = "file_system"
        apply_sharing_strategy(self.cfg)
        self.assertEqual(torch.multiprocessing.get_sharing_strategy(), "file_system")

    def test_unknown_strategy(self):
        self.cfg.DATALOADER.SHARING_STRATEGY = "carrier_pigeon"
        with self.assertRaisesRegex(ConfigError, "SHARING_STRATEGY"):
            apply_sharing_strategy(self.cfg)


if __name__ == "__main__":
    unittest.main()

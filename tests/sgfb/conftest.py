"""Fixtures of the SGFB tests: the tiny Charades root of tests/video and banks written by
``FeatureBankWriter``.

Bank entries encode where they come from: entry ``k`` of video number ``v`` (0, 1, 2 for VIDA1,
VIDB2, VIDD4) at time ``0.5 k`` s has the value ``100 v + k`` in every column, so a window can be
checked by hand.
"""

import importlib.util
import os

import numpy as np
import pytest
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.config import add_ag_config
from ag_detectron.data.datasets import register_charades
from ag_detectron.feature_bank import BankProvenance, FeatureBankWriter, consolidate
from ag_detectron.feature_bank.scene_graph import scene_graph_provenance

_spec = importlib.util.spec_from_file_location(
    "_video_fixtures", os.path.join(os.path.dirname(__file__), "..", "video", "conftest.py")
)
video_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(video_fixtures)

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs")
TINY_CLIP_OPTS = video_fixtures.TINY_CLIP_OPTS
BANK_VIDEOS = ("VIDA1", "VIDB2", "VIDD4")  # the videos with actions (VIDC3 has none)
RATE = 2.0


def entry_value(video_index: int, k: int) -> float:
    return 100.0 * video_index + k


def write_bank(bank_dir: str, provenance: BankProvenance, videos=BANK_VIDEOS) -> str:
    """A bank at 2 entries/s over each video's length (``VIDEOS`` of tests/video)."""
    writer = FeatureBankWriter(bank_dir, provenance, fsync=False)
    for vid in videos:
        v = BANK_VIDEOS.index(vid)
        duration = video_fixtures.VIDEOS[vid][0] / 24.0
        times = np.arange(0.0, duration, 1.0 / RATE)
        entries = np.stack(
            [np.full(provenance.dim, entry_value(v, k), np.float32) for k in range(len(times))]
        )
        writer.write(vid, times, entries, duration=duration)
    consolidate(bank_dir, videos=list(videos), fsync=False)
    return bank_dir


@pytest.fixture(scope="session")
def charades_root(tmp_path_factory):
    return video_fixtures.write_root(str(tmp_path_factory.mktemp("sgfb_charades")))


@pytest.fixture(scope="session")
def sg_bank(tmp_path_factory):
    return write_bank(str(tmp_path_factory.mktemp("sg_bank")), scene_graph_provenance())


@pytest.fixture
def dataset(charades_root):
    name = "sgfb_test_charades"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_charades(name, charades_root, "test")
    return name


@pytest.fixture
def cfg(dataset, sg_bank):
    """The instant-test config on the tiny root and the scene-graph bank (4-frame clips)."""
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(os.path.join(CONFIG_DIR, "quick_schedules", "sgfb_synth_instant_test.yaml"))
    cfg.DATASETS.TRAIN = (dataset,)
    cfg.DATASETS.TEST = (dataset,)
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.VIDEO.NUM_CLASSES = 4
    cfg.MODEL.SGFB.BANK_DIR = sg_bank
    cfg.INPUT.CLIP.NUM_FRAMES, cfg.INPUT.CLIP.SAMPLING_RATE = 4, 4
    cfg.INPUT.CLIP.TRAIN_JITTER_SCALES = (24, 28)
    cfg.INPUT.CLIP.TRAIN_CROP_SIZE = 24
    cfg.INPUT.CLIP.TEST_CROP_SIZE = 24
    return cfg

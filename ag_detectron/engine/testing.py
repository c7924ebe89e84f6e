"""Helpers for engine tests: a tiny registered Action Genome dataset and a frozen test config.

The dataset is the data owner's release-format fixture (``ag_detectron.utils.ag_fixtures``: 6 train
and 4 test frames of 480x270 noise images) written under a temporary root and registered with the
real loader, so train/eval run through exactly the code paths of a real dataset.
"""

import importlib.util
import os
import sys
from types import ModuleType
from typing import Dict, Sequence, Tuple

from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog

from ..config import get_ag_cfg
from ..data.datasets import register_action_genome

__all__ = [
    "CONFIG_DIR",
    "TOOLS_DIR",
    "load_tool",
    "register_tiny_ag",
    "tiny_config",
    "write_tiny_stats",
]

CONFIG_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "configs"))
TOOLS_DIR = os.path.join(os.path.dirname(CONFIG_DIR), "tools")


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py`` (a script, not a package module) as module ``ag_tool_<name>``."""
    spec = importlib.util.spec_from_file_location(
        f"ag_tool_{name}", os.path.join(TOOLS_DIR, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its functions pickle by reference (forked process pools)
    spec.loader.exec_module(module)
    return module


def register_tiny_ag(root: str, prefix: str) -> Tuple[str, str]:
    """Write the fixture under ``root`` and register ``<prefix>_train`` / ``<prefix>_test``
    (idempotent)."""
    from ..utils.ag_fixtures import make_ag_annotations, write_ag_root

    names = (f"{prefix}_train", f"{prefix}_test")
    if not os.path.exists(os.path.join(root, "annotations", "person_bbox.pkl")):
        persons, objects = make_ag_annotations()
        write_ag_root(root, persons, objects, images=True)
    for name, split in zip(names, ("train", "test")):
        if name not in DatasetCatalog.list():
            register_action_genome(name, root, split)
    return names


def write_tiny_stats(path: str, dataset_names: Sequence[str]) -> str:
    """Write the predicate-count file of ``dataset_names`` with
    :func:`ag_detectron.pipeline.predicate_stats.write_predicate_stats` (what
    tools/compute_predicate_stats.py runs); returns ``path``."""
    from ..pipeline.predicate_stats import write_predicate_stats

    write_predicate_stats(dataset_names, path)
    return path


def tiny_config(config_file: str, overrides: Dict[str, object] = None) -> CfgNode:
    """``get_ag_cfg(configs/<config_file>, overrides)``, frozen."""
    opts = []
    for k, v in (overrides or {}).items():
        opts += [k, v]
    return get_ag_cfg(os.path.join(CONFIG_DIR, config_file), opts)

"""Registration of a synthetic world's splits under run-specific names (picklable, so that
spawned training processes can repeat it)."""

import os

from detectron2.data import DatasetCatalog, MetadataCatalog

__all__ = ["register_synthetic_splits", "registered_at"]


def registered_at(name: str, root: str) -> bool:
    """Whether ``name`` is registered with metadata ``root`` equal to ``root``; a registration of
    another root (an earlier run in this process, e.g. a test) is removed, so that the caller
    registers it again."""
    if name not in DatasetCatalog.list():
        return False
    found = MetadataCatalog.get(name).get("root", None)
    if found is not None and os.path.abspath(found) == os.path.abspath(root):
        return True
    DatasetCatalog.remove(name)
    MetadataCatalog.remove(name)
    return False


def register_synthetic_splits(root: str, train: str, test: str, test_all_drawn: str) -> None:
    """Register ``train`` / ``test`` (the AG annotations of the world under ``root``) and
    ``test_all_drawn`` (the test frames with every drawn object boxed); names already registered
    for this root are left as they are."""
    from ..data.datasets import register_action_genome
    from ..data.synthetic.drawn import register_exhaustive

    for name, split in ((train, "train"), (test, "test")):
        if not registered_at(name, root):
            register_action_genome(name, root, split)
    if test_all_drawn in DatasetCatalog.list():  # derived from `test`: follows its root
        DatasetCatalog.remove(test_all_drawn)
        MetadataCatalog.remove(test_all_drawn)
    register_exhaustive(test_all_drawn, test, root, "test")

"""Registration of a synthetic world's splits under run-specific names (picklable, so that
spawned training processes can repeat it)."""

from detectron2.data import DatasetCatalog

__all__ = ["register_synthetic_splits"]


def register_synthetic_splits(root: str, train: str, test: str, test_all_drawn: str) -> None:
    """Register ``train`` / ``test`` (the AG annotations of the world under ``root``) and
    ``test_all_drawn`` (the test frames with every drawn object boxed); names already registered
    are left as they are."""
    from ..data.datasets import register_action_genome
    from ..data.synthetic.drawn import register_exhaustive

    for name, split in ((train, "train"), (test, "test")):
        if name not in DatasetCatalog.list():
            register_action_genome(name, root, split)
    if test_all_drawn not in DatasetCatalog.list():
        register_exhaustive(test_all_drawn, test, root, "test")

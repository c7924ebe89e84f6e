"""Registers the builtin Action Genome / Charades splits under ``$AG_DATASETS`` (default
``./datasets``).

Nothing is read at import; each name loads on ``DatasetCatalog.get``. Roots are relative to
``$AG_DATASETS``:

==================================  =============  =============================================
name                                root           loader settings
==================================  =============  =============================================
ag_train / ag_test                  action_genome  preset "none": every frame key of the split
ag_train_sttran / ag_test_sttran    action_genome  preset "sttran" (PredCls ground truth)
ag_{train,test}_sttran_filtersmall  action_genome  "sttran" + min_box_short_edge=16 (SGCls/SGDet)
ag_{train,test}_25                  action_genome  "sttran", 25 predicates (paper)
ag_synth_train / ag_synth_test      ag_synth       preset "none" (synthetic world, no filters)
charades_train / charades_test      charades       Charades_v1_{train,test}.csv
charades_synth_{train,test}         ag_synth       the synthetic world's Charades-format CSVs
==================================  =============  =============================================
"""

import os

from detectron2.data import DatasetCatalog

from .action_genome import register_action_genome
from .charades import register_charades

__all__ = ["register_all_action_genome", "register_all_charades", "BUILTIN_AG_SPLITS"]

# name -> (root relative to $AG_DATASETS, split, preset, options)
BUILTIN_AG_SPLITS = {
    "ag_train": ("action_genome", "train", "none", {}),
    "ag_test": ("action_genome", "test", "none", {}),
    "ag_train_sttran": ("action_genome", "train", "sttran", {}),
    "ag_test_sttran": ("action_genome", "test", "sttran", {}),
    "ag_train_sttran_filtersmall": ("action_genome", "train", "sttran", {"min_box_short_edge": 16}),
    "ag_test_sttran_filtersmall": ("action_genome", "test", "sttran", {"min_box_short_edge": 16}),
    "ag_train_25": ("action_genome", "train", "sttran", {"num_predicates": 25}),
    "ag_test_25": ("action_genome", "test", "sttran", {"num_predicates": 25}),
    "ag_synth_train": ("ag_synth", "train", "none", {}),
    "ag_synth_test": ("ag_synth", "test", "none", {}),
}
BUILTIN_CHARADES_SPLITS = {
    "charades_train": ("charades", "train"),
    "charades_test": ("charades", "test"),
    "charades_synth_train": ("ag_synth", "train"),
    "charades_synth_test": ("ag_synth", "test"),
}


def register_all_action_genome(root: str) -> None:
    for name, (sub, split, preset, options) in BUILTIN_AG_SPLITS.items():
        if name not in DatasetCatalog.list():
            register_action_genome(name, os.path.join(root, sub), split, preset, **options)


def register_all_charades(root: str) -> None:
    for name, (sub, split) in BUILTIN_CHARADES_SPLITS.items():
        if name not in DatasetCatalog.list():
            register_charades(name, os.path.join(root, sub), split)


# Register only when imported as the `builtin` module (same guard as detectron2's builtin.py).
if __name__.endswith(".builtin"):
    _root = os.path.expanduser(os.getenv("AG_DATASETS", "datasets"))
    register_all_action_genome(_root)
    register_all_charades(_root)

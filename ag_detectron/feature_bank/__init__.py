"""Long-term feature banks for action recognition (SGFB, LFB and the oracle): storage, windows,
per-frame scene-graph features, the oracle bank and the few-shot splits. See docs/feature_bank.md.

Everything here is model-free (NumPy / plain tensors); the feature-bank operators live in
:mod:`ag_detectron.modeling.fbo`. The package imports nothing from ``ag_detectron.data`` (the model
layer reads banks through it); the producers that read datasets are imported on their own:
:mod:`.oracle` (Action Genome ground truth) and :mod:`.extract` (runs the models).
"""

from .errors import FeatureBankError
from .few_shot import load_few_shot_split, make_few_shot_split, write_few_shot_split
from .provenance import (
    PRODUCER_KINDS,
    BankProvenance,
    check_provenance,
    hash_config,
    hash_file,
    scene_graph_vocabulary,
)
from .scene_graph import confidence_matrix, predicate_probabilities, scene_graph_provenance
from .storage import FeatureBank, Window
from .window import WindowSelection, WindowSpec, select_window
from .writer import FeatureBankWriter, consolidate, videos_for_rank

__all__ = [
    "confidence_matrix",
    "predicate_probabilities",
    "scene_graph_provenance",
    "make_few_shot_split",
    "load_few_shot_split",
    "write_few_shot_split",
    "FeatureBankError",
    "PRODUCER_KINDS",
    "BankProvenance",
    "check_provenance",
    "hash_config",
    "hash_file",
    "scene_graph_vocabulary",
    "FeatureBank",
    "FeatureBankWriter",
    "Window",
    "consolidate",
    "videos_for_rank",
    "WindowSelection",
    "WindowSpec",
    "select_window",
]

"""Person→object relation heads: registry, pair sampling, features, losses, post-processing."""

from .build import ROI_RELATION_HEAD_REGISTRY, build_relation_head  # isort:skip

from ag_detectron.modes import RelationMode

from .freq_prior import FrequencyBias, compute_predicate_counts, frequency_table
from .freq_prior_head import FrequencyPriorHead  # registration
from .reldn import RelDNHead  # registration
from .sampling import PairTargets
from .spatial_features import spatial_features

__all__ = [
    "ROI_RELATION_HEAD_REGISTRY",
    "build_relation_head",
    "FrequencyBias",
    "FrequencyPriorHead",
    "RelDNHead",
    "RelationMode",
    "PairTargets",
    "compute_predicate_counts",
    "frequency_table",
    "spatial_features",
]

"""ag_detectron models: relation heads and the scene-graph meta-architecture."""

from .relation_heads import ROI_RELATION_HEAD_REGISTRY, build_relation_head  # isort:skip

from . import fbo  # noqa: F401  (FBO_REGISTRY: avg / max / nl feature-bank operators)
from . import meta_arch as _meta_arch  # noqa: F401  (registration of SceneGraphRCNN)
from .meta_arch import SceneGraphRCNN
from .relation_heads import FrequencyPriorHead, RelationMode, RelDNHead

__all__ = [
    "ROI_RELATION_HEAD_REGISTRY",
    "build_relation_head",
    "SceneGraphRCNN",
    "RelDNHead",
    "FrequencyPriorHead",
    "RelationMode",
]

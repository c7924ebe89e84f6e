"""Meta-architectures (importing registers them in Detectron2's META_ARCH_REGISTRY)."""

from .clip_classifier import ClipClassifier  # registration
from .scene_graph_rcnn import SceneGraphRCNN  # registration

__all__ = ["SceneGraphRCNN", "ClipClassifier"]

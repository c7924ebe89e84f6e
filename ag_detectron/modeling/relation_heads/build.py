"""``ROI_RELATION_HEAD_REGISTRY`` and :func:`build_relation_head`; nothing else."""

from typing import Dict

from detectron2.layers import ShapeSpec
from detectron2.utils.registry import Registry
from torch import nn

from ag_detectron.errors import ConfigError

__all__ = ["ROI_RELATION_HEAD_REGISTRY", "build_relation_head"]

ROI_RELATION_HEAD_REGISTRY = Registry("ROI_RELATION_HEAD")
ROI_RELATION_HEAD_REGISTRY.__doc__ = """
Registry for person→object relation heads, called by ``SceneGraphRCNN``.

The registered object is called with ``obj(cfg, input_shape)`` where ``input_shape`` is the
backbone's ``Dict[str, ShapeSpec]``. It must be an ``nn.Module`` whose
``forward(features, entities, pairs, targets=None)`` takes the detector's feature maps, one
``Instances`` of entity boxes per image (``pred_boxes``, ``pred_classes``, optional
``class_probs``), one ``(P_i, 2)`` long tensor of (subject, object) indices per image and, in
training, the concatenated :class:`~ag_detectron.modeling.relation_heads.sampling.PairTargets`;
it returns a loss dict in training and a list of ``relations`` ``Instances`` (design.md) in eval.
Optional attributes: ``uses_features`` (bool; False lets predcls skip the backbone) and
``init_map()`` (detector state-dict prefixes that initialise head branches).
"""


def build_relation_head(cfg, input_shape: Dict[str, ShapeSpec]) -> nn.Module:
    """Build the relation head named by ``cfg.MODEL.ROI_RELATION_HEAD.NAME``.

    Raises:
        ConfigError: the name is not registered.
    """
    name = cfg.MODEL.ROI_RELATION_HEAD.NAME
    if name not in ROI_RELATION_HEAD_REGISTRY:
        known = sorted(k for k, _ in ROI_RELATION_HEAD_REGISTRY)
        raise ConfigError(
            f"MODEL.ROI_RELATION_HEAD.NAME={name!r} is not a registered relation head; "
            f"known: {known}"
        )
    return ROI_RELATION_HEAD_REGISTRY.get(name)(cfg, input_shape)

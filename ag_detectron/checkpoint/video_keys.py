"""Key conversion of video checkpoints (PyTorchVideo model zoo, PySlowFast) to ``ClipClassifier``
names. Pure functions of a state dict and the model's backbone layout (docs/video.md "Checkpoints").

Formats, told apart by their keys:

* ``"detectron2"`` -- our own checkpoints: ``backbone.blocks.*``, ``cls_score.*``.
* ``"pytorchvideo"`` -- ``pytorchvideo.models`` ``Net`` state dicts (its hub files wrap them in
  ``{"model_state": ...}``; Lightning-style files prefix ``model.``): ``blocks.{i}.*``, head
  ``blocks.{head}.proj.*``. Our backbones keep ``Net``'s block indices, so the conversion is a
  prefix: ``blocks.{i}`` -> ``backbone.blocks.{i}``, ``blocks.{head}.proj`` -> ``cls_score``.
* ``"pyslowfast"`` -- PySlowFast ``{"model_state": ...}``: ``s1.pathway{p}_stem.{conv,bn}``,
  ``s{k}_fuse.{conv_f2s,bn}``, ``s{k}.pathway{p}_res{i}.branch1{,_bn}``,
  ``s{k}.pathway{p}_res{i}.branch2.{a,b,c}{,_bn}``, ``s{k}.pathway{p}_nonlocal{i}.{conv_theta,
  conv_phi, conv_g, conv_out, bn | norm}``, ``head.projection``; see :func:`pyslowfast_to_ours`.
"""

import re
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

__all__ = ["detect_format", "pytorchvideo_to_ours", "pyslowfast_to_ours", "convert_state_dict"]

StateDict = Dict[str, torch.Tensor]

_STEM = re.compile(r"^s1\.pathway(\d+)_stem\.(conv|bn)\.(.+)$")
_FUSE = re.compile(r"^s(\d)_fuse\.(conv_f2s|bn)\.(.+)$")
_BRANCH1 = re.compile(r"^s(\d)\.pathway(\d+)_res(\d+)\.branch1(_bn)?\.(.+)$")
_BRANCH2 = re.compile(r"^s(\d)\.pathway(\d+)_res(\d+)\.branch2\.([abc])(_bn)?\.(.+)$")
_NONLOCAL = re.compile(
    r"^s(\d)\.pathway(\d+)_nonlocal(\d+)\.(conv_theta|conv_phi|conv_g|conv_out|bn|norm)\.(.+)$"
)
_HEAD = re.compile(r"^head\.projection\.(weight|bias)$")


def detect_format(state_dict: StateDict) -> Optional[str]:
    """ "detectron2", "pytorchvideo" or "pyslowfast" from the keys; None when none fits."""
    keys = list(state_dict)
    if any(k.startswith(("backbone.", "cls_score.")) for k in keys):
        return "detectron2"
    if any(k.startswith(("blocks.", "model.blocks.")) for k in keys):
        return "pytorchvideo"
    if any(k.startswith(("s1.", "head.projection.")) for k in keys):
        return "pyslowfast"
    return None


def pytorchvideo_to_ours(key: str, head_index: int) -> Optional[str]:
    """``blocks.{i}.X`` (optionally ``model.``-prefixed) -> our name; None if not a Net key."""
    if key.startswith("model."):
        key = key[len("model.") :]
    m = re.match(r"^blocks\.(\d+)\.(.+)$", key)
    if m is None:
        return None
    index, rest = int(m.group(1)), m.group(2)
    if index == head_index:
        return "cls_score." + rest[len("proj.") :] if rest.startswith("proj.") else None
    return f"backbone.blocks.{index}.{rest}"


def pyslowfast_to_ours(key: str, backbone: nn.Module) -> Optional[str]:
    """A PySlowFast ``model_state`` key -> our name, placed by the backbone's ``stem_prefix``,
    ``fusion_prefix`` and ``stage_prefix``; None when the key has no counterpart here."""
    try:
        m = _STEM.match(key)
        if m:
            p, mod, rest = int(m.group(1)), m.group(2), m.group(3)
            name = "conv" if mod == "conv" else "norm"
            return f"backbone.{backbone.stem_prefix(p)}.{name}.{rest}"
        m = _FUSE.match(key)
        if m:
            k, mod, rest = int(m.group(1)), m.group(2), m.group(3)
            name = "conv_fast_to_slow" if mod == "conv_f2s" else "norm"
            return f"backbone.{backbone.fusion_prefix(k)}.{name}.{rest}"
        m = _BRANCH1.match(key)
        if m:
            k, p, i, bn, rest = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4), m.group(5)
            name = "branch1_norm" if bn else "branch1_conv"
            return f"backbone.{backbone.stage_prefix(k, p)}.res_blocks.{i}.{name}.{rest}"
        m = _BRANCH2.match(key)
        if m:
            k, p, i, abc, bn, rest = m.groups()
            name = f"norm_{abc}" if bn else f"conv_{abc}"
            prefix = backbone.stage_prefix(int(k), int(p))
            return f"backbone.{prefix}.res_blocks.{i}.branch2.{name}.{rest}"
        m = _NONLOCAL.match(key)
        if m:
            k, p, i, mod, rest = m.groups()
            name = "norm" if mod in ("bn", "norm") else mod
            prefix = backbone.stage_prefix(int(k), int(p))
            return f"backbone.{prefix}.nonlocal_blocks.{i}.{name}.{rest}"
    except KeyError:  # a pathway / stage / fusion this backbone does not have
        return None
    m = _HEAD.match(key)
    if m:
        return f"cls_score.{m.group(1)}"
    return None


def convert_state_dict(
    state_dict: StateDict, fmt: str, backbone: nn.Module
) -> Tuple[StateDict, List[str], Dict[str, str]]:
    """Rename every key of a ``fmt`` state dict to ``ClipClassifier`` names.

    Returns:
        (converted state dict, source keys that have no counterpart in this architecture,
        {converted key: source key}).
    """
    if fmt == "detectron2":
        return dict(state_dict), [], {k: k for k in state_dict}
    out: StateDict = {}
    source: Dict[str, str] = {}
    unknown: List[str] = []
    head_index = getattr(backbone, "PYTORCHVIDEO_HEAD_INDEX", -1)
    for key, value in state_dict.items():
        if fmt == "pytorchvideo":
            new = pytorchvideo_to_ours(key, head_index)
        elif fmt == "pyslowfast":
            new = pyslowfast_to_ours(key, backbone)
        else:
            raise ValueError(f"unknown checkpoint format {fmt!r}")
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
            source[new] = key
    return out, unknown, source

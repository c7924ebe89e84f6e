"""``VideoCheckpointer``: Detectron2's checkpointer that also reads PyTorchVideo / PySlowFast
checkpoints into a ``ClipClassifier`` and refuses checkpoints that do not fit it."""

import logging
from typing import Any, Dict, List, Tuple

import torch
from detectron2.checkpoint import DetectionCheckpointer

from ..errors import CheckpointError
from .video_keys import convert_state_dict, detect_format

__all__ = ["VideoCheckpointer", "check_state_dict"]

logger = logging.getLogger(__name__)

_MAX_LISTED = 20


def _listing(keys: List[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    return f"{shown}, ... ({len(keys)} in all)" if len(keys) > _MAX_LISTED else shown


def check_state_dict(
    model: torch.nn.Module, state_dict: Dict[str, torch.Tensor]
) -> Tuple[List[str], List[str], List[Tuple[str, tuple, tuple]]]:
    """Compare a (converted) state dict with ``model.state_dict()``.

    Returns:
        (missing keys, unexpected keys, [(key, checkpoint shape, model shape)]).
    """
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state_dict)
    unexpected = sorted(k for k in state_dict if k not in own)
    shapes = [
        (k, tuple(v.shape), tuple(own[k].shape))
        for k, v in sorted(state_dict.items())
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    return missing, unexpected, shapes


class VideoCheckpointer(DetectionCheckpointer):
    """``DetectionCheckpointer`` for clip models (any model with a ``backbone`` exposing the
    checkpoint layout of :mod:`ag_detectron.modeling.video` and a ``cls_score`` classifier).

    * ``.pyth`` / ``.pth`` / ``.pt`` files holding ``{"model_state": ...}`` (PyTorchVideo model zoo,
      PySlowFast) or a bare state dict are read with ``torch.load``. (Detectron2 would read every
      ``.pyth`` file as a pycls image classifier.)
    * The format is recognised from the keys and converted (:mod:`.video_keys`).
    * The converted dict is compared with the model. A classifier of another class count (e.g. the
      400 Kinetics classes) is dropped with a warning and keeps its initialisation; so do non-local
      blocks the checkpoint lacks (a Kinetics I3D initialising an I3D-NL). Any other
      difference (missing / unexpected keys, shape mismatch) raises :class:`CheckpointError` naming
      the file and listing the keys when the model's ``weights_strict`` is True (the default,
      ``MODEL.VIDEO.WEIGHTS_STRICT``); otherwise the same report is logged and the tensors that fit
      are loaded.

    * A model built on a stage-1 clip model (``SGFB``) declares ``checkpoint_new_prefixes`` and
      ``checkpoint_ignored_prefixes``: a checkpoint without any tensor under the new prefixes is a
      stage-1 one, whose backbone loads while the new modules keep their initialisation and the
      ignored ones (the stage-1 classifier) are dropped, with one warning (:meth:`_stage1_keys`).

    Models without that layout (e.g. ``SceneGraphRCNN``) load exactly as with
    ``DetectionCheckpointer``.
    """

    def _is_clip_model(self) -> bool:
        backbone = getattr(self.model, "backbone", None)
        head = hasattr(self.model, "cls_score") or hasattr(self.model, "checkpoint_new_prefixes")
        return hasattr(backbone, "stage_prefix") and head

    def _load_file(self, filename: str) -> Dict[str, Any]:
        self._video_file = filename
        if not self._is_clip_model() or filename.endswith(".pkl"):
            return super()._load_file(filename)
        loaded = self._torch_load(filename)
        if not isinstance(loaded, dict):
            raise CheckpointError(f"{filename}: expected a dict, found {type(loaded).__name__}")
        for wrapper in ("model_state", "state_dict"):  # PyTorchVideo / PySlowFast; Lightning
            if isinstance(loaded.get(wrapper), dict):
                return {"model": loaded[wrapper]}
        if "model" in loaded and isinstance(loaded["model"], dict):
            return loaded  # our own checkpoints (model, optimizer, scheduler, iteration)
        return {"model": loaded}

    def _stage1_keys(
        self,
        filename: str,
        state_dict: Dict[str, Any],
        missing: List[str],
        unexpected: List[str],
    ) -> Tuple[List[str], List[str], List[str]]:
        """A model built on a stage-1 clip model (e.g. ``SGFB``) declares
        ``checkpoint_new_prefixes`` (its modules a stage-1 checkpoint lacks) and
        ``checkpoint_ignored_prefixes`` (stage-1 modules it replaces). When the checkpoint has none
        of the new modules, they keep their initialisation and the replaced modules are dropped,
        each with one warning; a checkpoint holding some of them (the model's own) is checked as
        usual. Returns (missing, unexpected, keys left at their initialisation)."""
        new = tuple(getattr(self.model, "checkpoint_new_prefixes", ()))
        if not new or any(k.startswith(new) for k in state_dict):
            return missing, unexpected, []
        fresh = [k for k in missing if k.startswith(new)]
        ignored = tuple(getattr(self.model, "checkpoint_ignored_prefixes", ()))
        dropped = [k for k in unexpected if ignored and k.startswith(ignored)]
        for key in dropped:
            del state_dict[key]
        logger.warning(
            f"{filename}: a stage-1 checkpoint for {type(self.model).__name__}: "
            f"{len(fresh)} tensors under {list(new)} keep their initialisation; "
            f"{len(dropped)} tensors under {list(ignored)} are not used ({_listing(dropped)})"
        )
        return (
            [k for k in missing if k not in set(fresh)],
            [k for k in unexpected if k not in set(dropped)],
            fresh,
        )

    def _load_model(self, checkpoint: Dict[str, Any]) -> Any:
        if not self._is_clip_model():
            return super()._load_model(checkpoint)
        filename = getattr(self, "_video_file", "<checkpoint>")
        state_dict = {
            (k[len("module.") :] if k.startswith("module.") else k): v
            for k, v in checkpoint["model"].items()
        }
        fmt = detect_format(state_dict)
        if fmt is None:
            raise CheckpointError(
                f"{filename}: not a checkpoint of a clip model in a known format (detectron2 "
                f"'backbone.*', pytorchvideo 'blocks.*', PySlowFast 's1.*'); first keys: "
                f"{_listing(sorted(state_dict))}"
            )
        state_dict, unknown, source = convert_state_dict(state_dict, fmt, self.model.backbone)
        missing, unexpected, shapes = check_state_dict(self.model, state_dict)
        missing, unexpected, stage1_new = self._stage1_keys(
            filename, state_dict, missing, unexpected
        )
        # Keys the model lacks are named as the file names them (and where they would go).
        unexpected = sorted(unknown) + [
            source[k] if source[k] == k else f"{source[k]} (-> {k})" for k in unexpected
        ]
        head_shapes = [s for s in shapes if s[0].startswith("cls_score.")]
        # Only the class count differs (same input width): another dataset's classifier.
        other_classes = all(a[0] != b[0] and a[1:] == b[1:] for _, a, b in head_shapes)
        if (
            head_shapes
            and other_classes
            and len(head_shapes) == sum(k.startswith("cls_score.") for k in state_dict)
        ):
            logger.warning(
                f"{filename}: its classifier has {head_shapes[0][1][0]} classes, the model "
                f"{head_shapes[0][2][0]} (MODEL.VIDEO.NUM_CLASSES): the classifier is not loaded "
                "and keeps its initialisation"
            )
            for key, _, _ in head_shapes:
                del state_dict[key]
            shapes = [s for s in shapes if not s[0].startswith("cls_score.")]
            skipped_head = {k for k, _, _ in head_shapes}
        else:
            skipped_head = set()
        skipped_nl = sorted(k for k in missing if ".nonlocal_blocks." in k)
        if skipped_nl:
            # A checkpoint without non-local blocks (e.g. Kinetics I3D) initialising an I3D-NL:
            # the blocks keep their identity initialisation (zero output scale).
            logger.warning(
                f"{filename}: no weights for the {len(skipped_nl)} non-local block tensors "
                f"({_listing(skipped_nl)}); they keep their identity initialisation"
            )
            missing = [k for k in missing if k not in set(skipped_nl)]
        problems = []
        if missing:
            problems.append(f"missing in the checkpoint: {_listing(missing)}")
        if unexpected:
            problems.append(f"not in the model: {_listing(unexpected)}")
        if shapes:
            problems.append(
                "shape mismatch (checkpoint vs model): "
                + _listing([f"{source[k]} {tuple(a)} vs {k} {tuple(b)}" for k, a, b in shapes])
            )
        if problems:
            message = (
                f"{filename} ({fmt} format) does not fit "
                f"{type(self.model).__name__} with backbone {type(self.model.backbone).__name__}: "
                + "; ".join(problems)
            )
            if getattr(self.model, "weights_strict", True):
                raise CheckpointError(
                    message + " (MODEL.VIDEO.WEIGHTS_STRICT False loads the rest)"
                )
            logger.warning(message + "; loading the tensors that fit")
            for key, _, _ in shapes:
                del state_dict[key]
        else:
            logger.info(f"{filename}: {fmt} checkpoint, {len(state_dict)} tensors loaded")
        checkpoint["model"] = state_dict
        incompatible = super()._load_model(checkpoint)
        # The skipped classifier / non-local blocks are reported above; not repeated as "not found".
        reported = skipped_head | set(skipped_nl) | set(stage1_new)
        incompatible.missing_keys[:] = [k for k in incompatible.missing_keys if k not in reported]
        return incompatible

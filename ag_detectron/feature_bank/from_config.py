"""The feature bank of a config: its window spec, the provenance it requires, opening it, coverage.

Read by the ``SGFB`` model (provenance check when it is built), the feature-bank mapper
(windows) and the feature-bank task (coverage of a dataset); keys: ``MODEL.SGFB.*``
(docs/feature_bank.md "Model").
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List

import numpy as np
from detectron2.config import CfgNode

from ..errors import ConfigError
from .errors import FeatureBankError
from .provenance import PRODUCER_KINDS
from .scene_graph import scene_graph_bank_vocabulary
from .storage import FeatureBank
from .window import WindowSpec

__all__ = [
    "bank_window_spec",
    "expected_bank_provenance",
    "open_feature_bank",
    "check_bank_coverage",
    "open_clip_feature_bank",
    "check_clip_feature_coverage",
    "nearest_entry",
]

logger = logging.getLogger(__name__)


def bank_window_spec(cfg: CfgNode) -> WindowSpec:
    """The :class:`WindowSpec` of ``MODEL.SGFB.WINDOW``."""
    w = cfg.MODEL.SGFB.WINDOW
    return WindowSpec(
        size=int(w.SIZE),
        span=float(w.SPAN),
        padding=w.PADDING,
        overflow=w.OVERFLOW,
        outside=w.OUTSIDE,
    )


def expected_bank_provenance(cfg: CfgNode) -> Dict[str, Any]:
    """The provenance fields the config requires of its bank: ``kind`` always; the Action Genome
    vocabulary (35 objects x ``BANK_NUM_PREDICATES``) for ``scene_graph`` / ``oracle`` banks;
    ``dim`` when ``MODEL.SGFB.BANK_DIM > 0``."""
    s = cfg.MODEL.SGFB
    if s.BANK_KIND not in PRODUCER_KINDS:
        raise ConfigError(
            f"MODEL.SGFB.BANK_KIND={s.BANK_KIND!r}; expected one of {list(PRODUCER_KINDS)}"
        )
    expected: Dict[str, Any] = {"kind": s.BANK_KIND}
    if s.BANK_KIND in ("scene_graph", "oracle"):
        if s.BANK_NUM_PREDICATES not in (25, 26):
            raise ConfigError(
                f"MODEL.SGFB.BANK_NUM_PREDICATES={s.BANK_NUM_PREDICATES!r}; expected 26 or 25"
            )
        expected["vocabulary"] = scene_graph_bank_vocabulary(s.BANK_NUM_PREDICATES)
    if s.BANK_DIM > 0:
        expected["dim"] = int(s.BANK_DIM)
    return expected


def open_feature_bank(cfg: CfgNode) -> FeatureBank:
    """Open ``MODEL.SGFB.BANK_DIR`` with the provenance check and the missing-video rule.

    Raises:
        ConfigError: no bank directory configured, or an unknown ``BANK_MISSING``.
        FeatureBankError: the bank is unreadable or was produced by another kind / vocabulary
            (the message names the index file and the field).
    """
    s = cfg.MODEL.SGFB
    if not s.BANK_DIR:
        raise ConfigError("MODEL.SGFB.BANK_DIR is empty; set it to a consolidated feature bank")
    if s.BANK_MISSING not in ("error", "zero"):
        raise ConfigError(f"MODEL.SGFB.BANK_MISSING={s.BANK_MISSING!r}; expected 'error' or 'zero'")
    return FeatureBank(s.BANK_DIR, expected=expected_bank_provenance(cfg), missing=s.BANK_MISSING)


def check_bank_coverage(cfg: CfgNode, video_ids: Iterable[str], what: str) -> List[str]:
    """The videos of ``what`` (a dataset description) missing from the bank.

    With ``BANK_MISSING="error"`` any missing video raises :class:`ConfigError` naming the bank,
    the count and the first ids; with ``"zero"`` one warning states the count (their clips read
    all-padding windows). Returns the sorted missing ids.
    """
    bank = open_feature_bank(cfg)
    missing = sorted({v for v in video_ids if v not in bank})
    if missing:
        msg = (
            f"{bank.index_path}: {len(missing)} videos of {what} are not in the bank "
            f"(first: {missing[:5]})"
        )
        if cfg.MODEL.SGFB.BANK_MISSING == "error":
            raise ConfigError(
                msg + "; extract them, or set MODEL.SGFB.BANK_MISSING zero to read empty windows"
            )
        logger.warning(
            msg + "; their clips read all-padding windows (MODEL.SGFB.BANK_MISSING zero)"
        )
    return missing


def open_clip_feature_bank(cfg: CfgNode) -> FeatureBank:
    """Open ``MODEL.SGFB.CLIP_FEATURE_BANK`` (precomputed clip features of the model's own frozen
    backbone; docs/feature_bank.md "Precomputed clip features"). Every video must be in it.

    Raises:
        ConfigError: the option is set without ``MODEL.SGFB.FREEZE_BACKBONE`` (a backbone being
            trained has no fixed features to precompute).
        FeatureBankError: unreadable, not of kind ``lfb``, or without a ``backbone_hash`` in its
            vocabulary (written before the hash was recorded: extract it again).
    """
    s = cfg.MODEL.SGFB
    if not s.CLIP_FEATURE_BANK:
        raise ConfigError("MODEL.SGFB.CLIP_FEATURE_BANK is empty")
    if not s.FREEZE_BACKBONE:
        raise ConfigError(
            "MODEL.SGFB.CLIP_FEATURE_BANK needs MODEL.SGFB.FREEZE_BACKBONE True: precomputed clip "
            "features stand for a frozen backbone's output"
        )
    bank = FeatureBank(s.CLIP_FEATURE_BANK, expected={"kind": "lfb"}, missing="error")
    vocab = bank.provenance.vocabulary
    if not isinstance(vocab, dict) or not vocab.get("backbone_hash"):
        raise FeatureBankError(
            f"{bank.index_path}: the clip-feature bank records no 'backbone_hash' in its "
            "vocabulary, so it cannot be matched to MODEL.WEIGHTS; extract it again with "
            "tools/extract_feature_bank.py --kind lfb"
        )
    return bank


def check_clip_feature_coverage(cfg: CfgNode, video_ids: Iterable[str], what: str) -> None:
    """Every video of ``what`` must be in ``MODEL.SGFB.CLIP_FEATURE_BANK`` (when set): a clip
    without its S cannot be classified. Raises :class:`ConfigError` naming the bank and videos."""
    if not cfg.MODEL.SGFB.CLIP_FEATURE_BANK:
        return
    bank = open_clip_feature_bank(cfg)
    missing = sorted({v for v in video_ids if v not in bank})
    if missing:
        raise ConfigError(
            f"{bank.index_path}: {len(missing)} videos of {what} have no precomputed clip "
            f"features (first: {missing[:5]}); extract them with tools/extract_feature_bank.py "
            "--kind lfb, or unset MODEL.SGFB.CLIP_FEATURE_BANK"
        )


def nearest_entry(bank: FeatureBank, video_id: str, centre: float) -> np.ndarray:
    """``(D,)`` float32: the bank entry of ``video_id`` whose time is nearest ``centre`` seconds
    (the earlier one on a tie).

    Raises:
        FeatureBankError: the video is not in the bank or has no entry.
    """
    times = bank.times(video_id)
    if len(times) == 0:
        raise FeatureBankError(f"{bank.index_path}: video {video_id!r} has no entries")
    i = int(np.searchsorted(times, centre))
    if i == len(times) or (i > 0 and centre - times[i - 1] <= times[i] - centre):
        i -= 1
    return np.asarray(bank.entries(video_id)[i], dtype=np.float32)

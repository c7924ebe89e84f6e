"""``FeatureBankClipMapper``: a clip (``ClipDatasetMapper``) plus its window of bank entries.

Output: everything :class:`~ag_detectron.data.clip_mapper.ClipDatasetMapper` returns, plus

- ``"bank_window"``: float32 (W, D), the bank entries around ``"clip_center_sec"``, zero rows for
  padding (W = ``MODEL.SGFB.WINDOW.SIZE``, D = the bank's entry width);
- ``"bank_mask"``: bool (W,), True for a real entry.

With ``MODEL.SGFB.CLIP_FEATURE_BANK`` (precomputed clip features of the frozen backbone) no frame
is decoded: ``"clip"`` is replaced by ``"clip_feature"`` float32 (Ds,), the clip-feature bank's
entry nearest the clip centre; the clip's position, labels and view are drawn exactly as with
decoding (:meth:`ClipDatasetMapper.clip_targets`).

The window is read here, in the data-loader workers, rather than in the model: a window read is a
few memory-mapped rows (O(log n + W)), and doing it beside the JPEG decoding keeps it off the
training step (docs/feature_bank.md "Model"). The bank is opened lazily, once per process (the
mapper is pickled into each worker without it), and memory-mapped, so workers share the page cache.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

import torch
from detectron2.config import CfgNode, configurable

from ..errors import ConfigError
from ..feature_bank import FeatureBank, WindowSpec
from ..feature_bank.from_config import (
    bank_window_spec,
    check_bank_coverage,
    expected_bank_provenance,
    nearest_entry,
    open_clip_feature_bank,
    open_feature_bank,
)
from .clip_mapper import ClipDatasetMapper

__all__ = [
    "FeatureBankClipMapper",
    "bank_window_spec",
    "expected_bank_provenance",
    "open_feature_bank",
    "check_bank_coverage",
]

logger = logging.getLogger(__name__)


class FeatureBankClipMapper:
    """``ClipDatasetMapper`` followed by the bank window of the clip (module docstring).

    Args:
        clip_mapper: reads and augments the clip; must output ``"video_id"`` and
            ``"clip_center_sec"``.
        bank_dir: consolidated bank directory.
        expected: provenance fields the bank must have (:func:`expected_bank_provenance`).
        missing: ``"error"`` (a video absent from the bank raises ``FeatureBankError`` naming the
            bank and the video) or ``"zero"`` (an all-padding window, counted in
            ``missing_reads``; the loader warns once with the count, :func:`check_bank_coverage`).
        spec: the window rules.
        clip_feature_bank: ``MODEL.SGFB.CLIP_FEATURE_BANK`` ("" = decode the clip).
    """

    @configurable
    def __init__(
        self,
        clip_mapper: ClipDatasetMapper,
        *,
        bank_dir: str,
        expected: Dict[str, Any],
        missing: str,
        spec: WindowSpec,
        clip_feature_bank: str = "",
    ) -> None:
        self.clip_mapper = clip_mapper
        self.clip_feature_bank = clip_feature_bank
        self._clip_bank: Optional[FeatureBank] = None
        self.bank_dir = bank_dir
        self.expected = dict(expected)
        self.missing = missing
        self.spec = spec
        self._bank: Optional[FeatureBank] = None
        self.missing_reads = 0  # clips of videos absent from the bank (missing="zero"), per process

    @classmethod
    def from_config(cls, cfg: CfgNode, is_train: bool = True) -> Dict[str, Any]:
        if not cfg.MODEL.SGFB.BANK_DIR:
            raise ConfigError("MODEL.SGFB.BANK_DIR is empty; the feature-bank loader needs a bank")
        if cfg.MODEL.SGFB.BANK_MISSING not in ("error", "zero"):
            raise ConfigError(
                f"MODEL.SGFB.BANK_MISSING={cfg.MODEL.SGFB.BANK_MISSING!r}; expected 'error' or "
                "'zero'"
            )
        return {
            "clip_mapper": ClipDatasetMapper(cfg, is_train=is_train),
            "bank_dir": cfg.MODEL.SGFB.BANK_DIR,
            "expected": expected_bank_provenance(cfg),
            "missing": cfg.MODEL.SGFB.BANK_MISSING,
            "spec": bank_window_spec(cfg),
            "clip_feature_bank": _checked_clip_feature_bank(cfg),
        }

    @property
    def clip_bank(self) -> FeatureBank:
        """The clip-feature bank, opened on first use in this process."""
        if self._clip_bank is None:
            self._clip_bank = FeatureBank(
                self.clip_feature_bank, expected={"kind": "lfb"}, missing="error"
            )
        return self._clip_bank

    @property
    def bank(self) -> FeatureBank:
        """The bank, opened (and its provenance checked) on first use in this process."""
        if self._bank is None:
            # missing videos are handled in __call__ ("zero"); the bank itself always refuses them
            self._bank = FeatureBank(self.bank_dir, expected=self.expected, missing="error")
        return self._bank

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_bank"] = state["_clip_bank"] = None  # each worker maps the files itself
        return state

    def __call__(self, dataset_dict: Dict[str, Any]) -> Dict[str, Any]:
        if self.clip_feature_bank:
            out = self.clip_mapper.clip_targets(dataset_dict, self.clip_mapper.call_rng())
            entry = nearest_entry(self.clip_bank, out["video_id"], float(out["clip_center_sec"]))
            out["clip_feature"] = torch.from_numpy(entry)  # (Ds,) float32
        else:
            out = self.clip_mapper(dataset_dict)
        bank, vid = self.bank, out["video_id"]
        if self.missing == "zero" and vid not in bank:
            # announced once, with the count, by check_bank_coverage when the loader is built
            self.missing_reads += 1
            out["bank_window"] = torch.zeros((self.spec.size, bank.dim), dtype=torch.float32)
            out["bank_mask"] = torch.zeros((self.spec.size,), dtype=torch.bool)
            return out
        window = bank.window(vid, float(out["clip_center_sec"]), self.spec)
        out["bank_window"] = torch.from_numpy(window.entries)  # (W, D) float32
        out["bank_mask"] = torch.from_numpy(window.mask)  # (W,) bool
        return out


def _checked_clip_feature_bank(cfg: CfgNode) -> str:
    """``MODEL.SGFB.CLIP_FEATURE_BANK``, checked once here (kind, frozen backbone, recorded
    backbone hash; :func:`open_clip_feature_bank`); "" when unset. The model checks the hash
    against its loaded backbone."""
    path = cfg.MODEL.SGFB.CLIP_FEATURE_BANK
    if path:
        open_clip_feature_bank(cfg)
    return path

"""Window lookup: which bank entries of one video a clip centred at ``centre`` seconds sees.

Pure NumPy on one video's sorted timestamps; :class:`~.storage.FeatureBank` uses it to read the
rows. The rules (defaults = LFB's Charades setting, 20 entries = +-5 s at 2 entries/s):

* **Span.** Entries with ``centre - span/2 <= t < centre + span/2`` (half-open, so a 2/s grid
  gives exactly ``span * rate`` entries, never one more).
* **Padding.** The output always has ``size`` rows plus a boolean mask. ``"end"``: the entries in
  time order, then zero rows. ``"slot"``: row ``floor((t - (centre - span/2)) / (span / size))``,
  so each row is a fixed time offset from the centre and zero rows mark times without an entry.
* **Overflow.** A denser bank can hold more than ``size`` entries in the span. With ``"end"``
  padding, ``overflow="nearest"`` keeps the ``size`` entries nearest the centre (ties: the earlier
  one; the kept entries form a contiguous run); with ``"slot"`` padding, entries sharing a slot
  keep the earliest. Either way the others are counted in ``WindowSelection.dropped``;
  ``overflow="error"`` raises instead.
* **Outside.** A centre outside ``[0, duration]``: ``"error"`` raises naming the video,
  ``"clamp"`` moves it to the nearest end (``WindowSelection.clamped`` is True; the bank counts).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from .errors import FeatureBankError

__all__ = ["WindowSpec", "WindowSelection", "select_window", "PADDING_RULES"]

PADDING_RULES = ("end", "slot")
OVERFLOW_RULES = ("nearest", "error")
OUTSIDE_RULES = ("error", "clamp")


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """How a window is cut from a video's bank entries (module docstring).

    Attributes:
        size: rows of the padded window W (LFB: 20).
        span: window length in seconds, centred on the clip (LFB: 10.0 = +-5 s).
        padding: ``"end"`` or ``"slot"``.
        overflow: ``"nearest"`` or ``"error"`` when the span holds more than ``size`` entries.
        outside: ``"error"`` or ``"clamp"`` for a clip centre outside the video.
    """

    size: int = 20
    span: float = 10.0
    padding: str = "end"
    overflow: str = "nearest"
    outside: str = "error"

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise FeatureBankError(f"window 'size': {self.size!r}; expected an int >= 1")
        if not (self.span > 0 and math.isfinite(self.span)):
            raise FeatureBankError(f"window 'span': {self.span!r}; expected seconds > 0")
        for name, allowed in (
            ("padding", PADDING_RULES),
            ("overflow", OVERFLOW_RULES),
            ("outside", OUTSIDE_RULES),
        ):
            if getattr(self, name) not in allowed:
                raise FeatureBankError(
                    f"window '{name}': {getattr(self, name)!r}; expected one of {allowed}"
                )


class WindowSelection(NamedTuple):
    """Result of :func:`select_window` for one clip.

    Attributes:
        start, stop: the selected entries are ``times[start:stop]`` (contiguous).
        rows: ``(stop - start,)`` int64 row of each selected entry in the padded window; ``-1``
            for an entry dropped by a slot collision.
        centre: the centre used (after clamping).
        dropped: entries inside the span that are not in the window (overflow, collisions).
        clamped: the centre was outside the video and was clamped.
    """

    start: int
    stop: int
    rows: np.ndarray
    centre: float
    dropped: int
    clamped: bool


def select_window(
    times: np.ndarray,
    centre: float,
    spec: WindowSpec,
    duration: float,
    where: str = "",
) -> WindowSelection:
    """Select the entries of one video that a clip centred at ``centre`` sees.

    Args:
        times: ``(n,)`` sorted entry timestamps in seconds (a memmap slice is fine: only
            O(log n + W) elements are touched).
        centre: clip centre in seconds.
        spec: the window rules.
        duration: the video's length in seconds (the valid range of ``centre`` is
            ``[0, duration]``).
        where: ``"<bank file>: video <id>"``, used in error messages.
    """
    if not math.isfinite(centre):
        raise FeatureBankError(f"{where}: clip centre {centre!r} is not a finite time")
    clamped = False
    if centre < 0 or centre > duration:
        if spec.outside == "error":
            raise FeatureBankError(
                f"{where}: clip centre {centre:.3f} s is outside the video [0, {duration:.3f}] s "
                f"(window outside='error'; 'clamp' moves it to the nearest end)"
            )
        centre = min(max(centre, 0.0), duration)
        clamped = True
    lo_t = centre - spec.span / 2.0
    hi_t = centre + spec.span / 2.0
    start = int(np.searchsorted(times, lo_t, side="left"))
    stop = int(np.searchsorted(times, hi_t, side="left"))
    dropped = 0
    if spec.padding == "slot":
        seg = np.asarray(times[start:stop], dtype=np.float64)
        width = spec.span / spec.size
        rows = np.floor((seg - lo_t) / width).astype(np.int64)
        np.clip(rows, 0, spec.size - 1, out=rows)
        dup = np.zeros(len(rows), dtype=bool)
        dup[1:] = rows[1:] == rows[:-1]  # sorted times -> non-decreasing rows
        if dup.any() and spec.overflow == "error":
            raise FeatureBankError(
                f"{where}: {int(dup.sum())} entries share a {width:g} s slot with an earlier one "
                f"in the window around {centre:.3f} s (window overflow='error')"
            )
        rows[dup] = -1
        dropped = int(dup.sum())
        return WindowSelection(start, stop, rows, float(centre), dropped, clamped)
    if stop - start > spec.size:
        if spec.overflow == "error":
            raise FeatureBankError(
                f"{where}: {stop - start} entries within +-{spec.span / 2:g} s of {centre:.3f} s, "
                f"more than the window size {spec.size} (window overflow='error')"
            )
        # the `size` entries nearest the centre form a contiguous run: slide it to the best place
        seg = np.asarray(times[start:stop], dtype=np.float64)
        dist = np.abs(seg - centre)
        k = spec.size
        # cost of a run starting at s = max distance of its ends; minimise, earliest on ties
        cost = np.maximum(dist[: len(seg) - k + 1], dist[k - 1 :])
        best = int(np.argmin(cost))
        dropped = (stop - start) - k
        start, stop = start + best, start + best + k
    rows = np.arange(stop - start, dtype=np.int64)
    return WindowSelection(start, stop, rows, float(centre), dropped, clamped)

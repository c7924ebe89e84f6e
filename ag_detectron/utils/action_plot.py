"""The actions-over-time figure of ``tools/predict.py`` (docs/engine.md "Actions over time"): a heat
map of the most confident actions' scores against the clip centre times, one row per action.
Rendering uses matplotlib's Agg backend.
"""

from __future__ import annotations

import textwrap
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["top_action_rows", "action_timeline_figure", "write_action_timeline"]


def top_action_rows(scores: np.ndarray, num_rows: int) -> np.ndarray:
    """Indices of the ``num_rows`` classes with the highest peak score over time, highest first
    (ties: lower class id first).

    Args:
        scores: (N, K) per-clip class scores.
    """
    peak = np.asarray(scores).max(axis=0)  # (K,)
    return np.argsort(-peak, kind="stable")[:num_rows]


def action_timeline_figure(
    times: Sequence[float],
    scores: np.ndarray,
    class_names: Sequence[str],
    num_rows: int = 10,
    title: str = "",
) -> plt.Figure:
    """Heat map of the ``num_rows`` actions with the highest peak score: rows = actions (name and
    id, the highest peak on top), columns = clips at ``times`` (seconds), colour = score in
    [0, 1] with a colour bar. Scores >= 0.5 are also written in their cell when there are at
    most 40 clips.

    Args:
        times: (N,) clip centre times in seconds, increasing.
        scores: (N, K) sigmoid scores.
        class_names: K names.
    """
    scores = np.asarray(scores, dtype=np.float32)
    times = np.asarray(times, dtype=np.float64)
    rows = top_action_rows(scores, num_rows)
    grid = scores[:, rows].T  # (R, N)
    labels = [
        textwrap.shorten(f"{class_names[k]} (c{k:03d})", width=48, placeholder="...") for k in rows
    ]
    n = len(times)
    fig, ax = plt.subplots(
        figsize=(min(max(6.0, 0.35 * n + 4.5), 18.0), 0.38 * len(rows) + 1.6), dpi=110
    )
    step = float(times[1] - times[0]) if n > 1 else 1.0
    extent = (times[0] - step / 2, times[-1] + step / 2, len(rows) - 0.5, -0.5)
    image = ax.imshow(
        grid,
        aspect="auto",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=extent,
        interpolation="nearest",
    )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("clip centre (s)")
    if n <= 40:
        for j, t in enumerate(times):
            for i in range(len(rows)):
                if grid[i, j] >= 0.5:
                    ax.text(
                        t,
                        i,
                        f"{grid[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="black",
                    )
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("score", fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def write_action_timeline(
    path: str,
    times: Sequence[float],
    scores: np.ndarray,
    class_names: Sequence[str],
    num_rows: int = 10,
    title: str = "",
) -> None:
    """Save :func:`action_timeline_figure` as a PNG at ``path`` and close it."""
    fig = action_timeline_figure(times, scores, class_names, num_rows=num_rows, title=title)
    try:
        fig.savefig(path)
    finally:
        plt.close(fig)

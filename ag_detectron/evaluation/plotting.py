"""Bar charts of per-class metrics (per-predicate recall, per-class AP), written as PNG files."""

import logging
from typing import Sequence

import numpy as np

__all__ = ["save_bar_chart"]

logger = logging.getLogger(__name__)


def save_bar_chart(
    path: str,
    names: Sequence[str],
    values: Sequence[float],
    title: str,
    ylabel: str,
    counts: Sequence[int] = (),
) -> None:
    """Save a vertical bar chart of ``values`` (NaN bars are drawn empty and labelled "n/a").

    Args:
        path: output PNG path.
        names: (C,) bar labels.
        values: (C,) values in [0, 1] (NaN allowed).
        title, ylabel: figure texts.
        counts: optional (C,) support counts appended to the labels as ``name (n)``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=np.float64)
    labels = [f"{n} ({c})" for n, c in zip(names, counts)] if len(counts) else list(names)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(values) + 1.5), 4.5))
    x = np.arange(len(values))
    ax.bar(x, np.nan_to_num(values, nan=0.0), color="tab:blue")
    for i in np.flatnonzero(np.isnan(values)):
        ax.text(i, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    finite = values[np.isfinite(values)]
    if len(finite):
        ax.axhline(finite.mean(), color="tab:red", lw=1, ls="--", label=f"mean {finite.mean():.3f}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    logger.info("Saved %s", path)

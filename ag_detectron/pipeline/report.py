"""The results report of a run: markdown tables of metrics, target checks, and the
``results.md`` / ``results.json`` files.

Results are kept per *result name* (e.g. ``"reldn_sgdet"``) as ``{"results": <evaluator output>,
...}``, where the evaluator output maps a task to its metrics: ``"bbox"`` (Detectron2's COCO
evaluator, in percent) or ``"sgg"`` (the relation evaluator, fractions). :func:`metric` reads any
of them as a fraction. Tables are Markdown "pipe" tables (``tabulate``), numbers with 3 decimals,
``-`` where a metric is missing.
"""

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from tabulate import tabulate

__all__ = [
    "Target",
    "detection_table",
    "metric",
    "scene_graph_table",
    "target_lines",
    "write_results",
]

# (task, scale to a fraction), searched in order.
_TASKS: Tuple[Tuple[str, float], ...] = (("bbox", 0.01), ("sgg", 1.0))


def metric(all_results: Mapping[str, Any], name: str, key: str) -> Optional[float]:
    """Metric ``key`` of result ``name`` as a fraction, or None when absent.

    COCO ``bbox`` metrics (percent) are divided by 100; ``sgg`` metrics are fractions already.
    """
    res = all_results.get(name, {}).get("results", {})
    for task, scale in _TASKS:
        value = res.get(task, {}).get(key)
        if value is not None:
            return value * scale
    return None


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def scene_graph_table(
    all_results: Mapping[str, Any],
    modes: Sequence[str],
    models: Sequence[Tuple[str, str]],
    columns: Sequence[Tuple[str, str]],
) -> str:
    """One row per (mode, model), one column per ``(protocol, metric)``.

    Args:
        modes: e.g. ``("predcls", "sgcls", "sgdet")``; result ``<model>_<mode>``, key
            ``<mode>/<protocol>/<metric>``.
        models: ``(result-name prefix, row label)`` in row order within a mode.
        columns: ``(protocol, metric)``, e.g. ``("with", "R@20")``; header ``"with R@20"``.
    """
    headers = ["model", "mode"] + [f"{c} {k}" for c, k in columns]
    rows = []
    for mode in modes:
        for model, label in models:
            rows.append(
                [label, mode]
                + [
                    _fmt(metric(all_results, f"{model}_{mode}", f"{mode}/{c}/{k}"))
                    for c, k in columns
                ]
            )
    return tabulate(rows, headers=headers, tablefmt="pipe")


def detection_table(
    all_results: Mapping[str, Any],
    rows: Sequence[Tuple[str, str]],
    keys: Sequence[str] = ("AP", "AP50", "AP75"),
    first_header: str = "detector / ground truth",
) -> str:
    """One row per ``(result name, label)`` that has at least one of ``keys``."""
    body = []
    for name, label in rows:
        vals = [metric(all_results, name, k) for k in keys]
        if any(v is not None for v in vals):
            body.append([label] + [_fmt(v) for v in vals])
    return tabulate(body, headers=[first_header, *keys], tablefmt="pipe")


@dataclass(frozen=True)
class Target:
    """A metric to reach: ``metric(result, key) >= threshold``."""

    label: str
    result: str
    key: str
    threshold: float


def target_lines(all_results: Mapping[str, Any], targets: Sequence[Target]) -> List[str]:
    """``- <label>: <value> (target >= <threshold>) PASS|MISS`` per target (MISS when absent)."""
    lines = []
    for t in targets:
        v = metric(all_results, t.result, t.key)
        ok = v is not None and v >= t.threshold
        lines.append(
            f"- {t.label}: {_fmt(v)} (target >= {t.threshold:.2f}) {'PASS' if ok else 'MISS'}"
        )
    return lines


def write_results(output_dir: str, text: str, summary: Dict[str, Any]) -> Tuple[str, str]:
    """Write ``text`` to ``results.md`` and ``summary`` to ``results.json`` in ``output_dir``.

    Returns:
        the two paths.
    """
    md, js = os.path.join(output_dir, "results.md"), os.path.join(output_dir, "results.json")
    with open(md, "w") as f:
        f.write(text + "\n")
    with open(js, "w") as f:
        json.dump(summary, f, indent=1)
    return md, js

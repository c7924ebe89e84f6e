"""Config loading for pipeline stages.

Seam: the engine is getting one config-loading function; when it lands, :func:`load_config` should
call it instead of repeating ``get_cfg → add_ag_config → merge``.
"""

import os
from typing import Any, Dict, List, Optional

from detectron2.config import CfgNode, get_cfg

from ..config import add_ag_config

__all__ = ["REPO_ROOT", "load_config"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_config(config: str, overrides: Optional[Dict[str, Any]] = None) -> CfgNode:
    """``get_cfg → add_ag_config → merge_from_file → overrides → freeze`` (as tools/train_net.py).

    Args:
        config: a YAML path, relative to the repository root unless absolute.
        overrides: config key → value, merged after the file.
    """
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(os.path.join(REPO_ROOT, config))
    opts: List[Any] = []
    for k, v in (overrides or {}).items():
        opts += [k, v]
    cfg.merge_from_list(opts)
    cfg.freeze()
    return cfg

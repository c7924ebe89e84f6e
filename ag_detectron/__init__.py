"""ag_detectron: Action Genome + Charades on Detectron2.

``import ag_detectron`` registers every builtin dataset (``ag_train``, ``ag_test_sttran``,
``charades_train``, ... under ``$AG_DATASETS``; table in ``ag_detectron/data/datasets/builtin.py``)
in Detectron2's ``DatasetCatalog`` / ``MetadataCatalog``. Registration reads no file: a dataset is
loaded on its first ``DatasetCatalog.get``. Models register on ``import ag_detectron.modeling``, the
engine's tasks on ``import ag_detectron.engine``.
"""

from .data.datasets import builtin as _builtin  # noqa: F401  (registers the builtin datasets)

__version__ = "0.1.0"

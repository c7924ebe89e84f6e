"""``FeatureBankError``: the exception type of the feature-bank package.

Defined here (not in :mod:`ag_detectron.errors`) while the package is new; it derives from the
project's base type, so ``except AGDetectronError`` catches it.
"""

from ag_detectron.errors import AGDetectronError

__all__ = ["FeatureBankError"]


class FeatureBankError(AGDetectronError, ValueError):
    """A feature bank (shard, consolidated file, index or provenance) is missing, damaged or does
    not match what the reader expects.

    The message names the bank file, the video (when one is involved), the field, what was found
    and what was expected.
    """

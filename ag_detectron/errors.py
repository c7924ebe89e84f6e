"""The project's exception types. Every message names the file/key/field and what was expected."""

__all__ = [
    "AGDetectronError",
    "DatasetFormatError",
    "ConfigError",
    "EvaluationInputError",
    "CheckpointError",
]


class AGDetectronError(Exception):
    """Base class of every error raised by ag_detectron."""


class DatasetFormatError(AGDetectronError, ValueError):
    """A release file (pkl, txt, csv, frame) does not have the expected format or content.

    The message names the file, the frame key or CSV row, the field, what was found and what was
    expected.
    """


class ConfigError(AGDetectronError, ValueError):
    """A config value is unknown or inconsistent (e.g. an unknown MODE, a missing checkpoint)."""


class EvaluationInputError(AGDetectronError, ValueError):
    """Inputs to a metric are malformed.

    For example wrong widths, logits instead of probabilities, or bad boxes.
    """


class CheckpointError(AGDetectronError, ValueError):
    """A checkpoint (MODEL.WEIGHTS) does not fit the model: unknown format, missing or unexpected
    keys, shape mismatches. The message names the file, the format and the keys."""

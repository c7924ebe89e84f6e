"""Checkpoint loading: Detectron2's checkpointer extended with video-model formats."""

from .video_checkpointer import VideoCheckpointer, check_state_dict
from .video_keys import convert_state_dict, detect_format

__all__ = ["VideoCheckpointer", "check_state_dict", "convert_state_dict", "detect_format"]

"""Checkpoint savers: where a thread's state lives between steps and between runs."""

from relaygraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

__all__ = ["BaseCheckpointSaver", "Checkpoint", "CheckpointMetadata", "CheckpointTuple"]

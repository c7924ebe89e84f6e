"""A training data stream that a resumed run continues exactly where the interrupted run stopped.

Detectron2's ``TrainingSampler`` restarts its index stream from the beginning when a run resumes,
and the workers' augmentation RNG restarts too, so a resumed run sees other batches than an
uninterrupted one. Here the stream is a pure function of ``(seed, position)`` (``docs/engine.md``
"Resume"):

- position ``g`` of the global stream is dataset item ``perm_e[g mod N]`` with ``e = g div N`` and
  ``perm_e`` a permutation drawn from ``(seed, e)`` (every epoch sees every item once, as with
  ``TrainingSampler``);
- the mapper's random augmentations for position ``g`` run with Python's ``random``, NumPy's global
  RNG and torch's CPU RNG seeded from ``(seed, g)`` (their previous states are restored afterwards,
  so mapping in the trainer process does not disturb the model's RNG);
- rank ``r`` of ``W`` processes takes positions ``r, r + W, r + 2W, ...``; a run resumed after ``k``
  iterations starts rank ``r`` at its item ``k * batch_per_rank`` (:meth:`set_start_iteration`,
  called by ``Trainer.resume_or_load``), without mapping the skipped items.

Exact with ``DATALOADER.ASPECT_RATIO_GROUPING`` off or when all frames have one orientation; with
grouping over mixed orientations the resumed run starts at the right position, but frames that were
waiting in a half-filled group at the checkpoint are not replayed.
"""

import logging
import random
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data import build_batch_data_loader
from detectron2.data.common import DatasetFromList
from detectron2.utils import comm

from ..errors import ConfigError

__all__ = ["ResumableTrainingStream", "build_resumable_train_loader", "stream_seed"]

logger = logging.getLogger(__name__)


def stream_seed(*keys: int) -> int:
    """A 32-bit seed derived from integer ``keys`` (NumPy's ``SeedSequence``; well mixed)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


class ResumableTrainingStream(torch.utils.data.IterableDataset):
    """Infinite stream of mapped training dicts of one process (module docstring).

    Iterating yields ``mapper(dataset_dict)`` in stream order; with ``torch`` data-loader workers
    each worker takes chunks of ``chunk_size`` consecutive items in turn, which is the order in
    which the ``DataLoader`` hands them out (``chunk_size`` = the loader's batch size, or 1 when it
    yields single items).
    """

    def __init__(
        self,
        dataset: List[Dict[str, Any]],
        mapper: Callable[[Dict[str, Any]], Any],
        seed: int,
        batch_size_per_rank: int,
        chunk_size: int,
        shuffle: bool = True,
    ):
        if len(dataset) == 0:
            raise ConfigError("DATASETS.TRAIN: the training datasets have no frames")
        self._dataset = DatasetFromList(dataset, copy=False, serialize=True)
        self._mapper = mapper
        self._seed = int(seed)
        self._shuffle = shuffle
        self._batch_size_per_rank = int(batch_size_per_rank)
        self._chunk_size = int(chunk_size)
        self._rank = comm.get_rank()
        self._world_size = comm.get_world_size()
        self._start_item = 0

    @property
    def seed(self) -> int:
        return self._seed

    def set_seed(self, seed: int) -> None:
        """Use ``seed`` (the one a checkpoint recorded); takes effect at the next ``iter()``."""
        self._seed = int(seed)

    def set_start_iteration(self, iteration: int) -> None:
        """Start this rank at the item the first ``iteration`` iterations would have consumed.
        Takes effect at the next ``iter()`` (the trainer creates its iterator at the first step)."""
        self._start_item = int(iteration) * self._batch_size_per_rank

    def _index(self, position: int, cache: Dict[int, np.ndarray]) -> int:
        n = len(self._dataset)
        epoch, offset = divmod(position, n)
        if not self._shuffle:
            return offset
        if epoch not in cache:
            cache.clear()
            rng = np.random.Generator(np.random.PCG64(stream_seed(self._seed, epoch)))
            cache[epoch] = rng.permutation(n)
        return int(cache[epoch][offset])

    def _map(self, position: int, dataset_dict: Dict[str, Any]) -> Any:
        seed = stream_seed(self._seed, position, 1)
        py_state, np_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            random.seed(seed)
            np.random.seed(seed)
            # the CPU generator only: torch.manual_seed also queues a (lazy) seeding of every
            # accelerator, recording a stack trace each time (~1.5 ms per sample, measured);
            # mappers run on the CPU, and fork_rng restores the CPU state after the call
            torch.random.default_generator.manual_seed(seed)
            try:
                return self._mapper(dataset_dict)
            finally:
                random.setstate(py_state)
                np.random.set_state(np_state)

    def __iter__(self) -> Iterator[Any]:
        info = torch.utils.data.get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        chunk = self._chunk_size
        item = self._start_item + worker * chunk  # this rank's item counter
        cache: Dict[int, np.ndarray] = {}
        while True:
            for k in range(chunk):
                position = self._rank + self._world_size * (item + k)
                yield self._map(position, self._dataset[self._index(position, cache)])
            item += chunk * num_workers


def build_resumable_train_loader(
    cfg: CfgNode,
    dataset: List[Dict[str, Any]],
    mapper: Callable[[Dict[str, Any]], Any],
    aspect_ratio_grouping: Optional[bool] = None,
) -> Any:
    """Detectron2's batched training loader over a :class:`ResumableTrainingStream`.

    Reads ``SOLVER.IMS_PER_BATCH``, ``DATALOADER.{NUM_WORKERS, ASPECT_RATIO_GROUPING,
    SAMPLER_TRAIN}`` and ``SEED`` (< 0: one seed drawn for all ranks; the trainer records it in its
    checkpoints and a resumed run reuses it). The returned loader carries the stream as
    ``loader.resumable_stream``. ``aspect_ratio_grouping`` overrides
    ``DATALOADER.ASPECT_RATIO_GROUPING`` (clips have no aspect ratio to group by).

    Raises:
        ConfigError: a ``DATALOADER.SAMPLER_TRAIN`` other than ``TrainingSampler``, or a batch size
            that the processes cannot share.
    """
    if cfg.DATALOADER.SAMPLER_TRAIN != "TrainingSampler":
        raise ConfigError(
            f"DATALOADER.SAMPLER_TRAIN={cfg.DATALOADER.SAMPLER_TRAIN!r}: the resumable training "
            "stream implements 'TrainingSampler' (shuffled epochs) only"
        )
    world_size = comm.get_world_size()
    total = int(cfg.SOLVER.IMS_PER_BATCH)
    if total <= 0 or total % world_size:
        raise ConfigError(
            f"SOLVER.IMS_PER_BATCH={total} must be a positive multiple of the {world_size} "
            "processes"
        )
    seed = int(cfg.SEED) if cfg.SEED >= 0 else comm.shared_random_seed()
    if aspect_ratio_grouping is None:
        aspect_ratio_grouping = cfg.DATALOADER.ASPECT_RATIO_GROUPING
    grouping = bool(aspect_ratio_grouping)
    per_rank = total // world_size
    stream = ResumableTrainingStream(
        dataset, mapper, seed, per_rank, chunk_size=1 if grouping else per_rank
    )
    loader = build_batch_data_loader(
        stream,
        None,
        total,
        aspect_ratio_grouping=grouping,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        seed=stream_seed(seed, 2),  # the loader's own generator: the global torch RNG is not used
    )
    loader.resumable_stream = stream
    return loader

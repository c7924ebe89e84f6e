"""The resumable training stream: a stream started at iteration k is the tail of the full stream,
the mapper's random draws depend on the stream position only, and every epoch covers every item
once."""

import itertools
import random
import unittest

import numpy as np
import torch

from ag_detectron.engine.train_stream import ResumableTrainingStream


def _mapper(d):
    # The position-seeded RNGs decide these draws.
    return (d["i"], random.random(), float(np.random.rand()), float(torch.rand(())))


def _take(stream, n, num_workers=0, batch_size=None):
    loader = torch.utils.data.DataLoader(
        stream, batch_size=batch_size, num_workers=num_workers, collate_fn=lambda x: x
    )
    out = []
    for item in loader:
        out.extend(item if batch_size else [item])
        if len(out) >= n:
            return out[:n]


class TestResumableStream(unittest.TestCase):
    def setUp(self):
        self.data = [{"i": i} for i in range(5)]

    def _stream(self, chunk=3):
        return ResumableTrainingStream(
            self.data, _mapper, seed=7, batch_size_per_rank=3, chunk_size=chunk
        )

    def test_epochs_are_permutations(self):
        items = [x[0] for x in _take(self._stream(), 15)]
        for e in range(3):
            self.assertEqual(sorted(items[5 * e : 5 * e + 5]), [0, 1, 2, 3, 4])
        self.assertNotEqual(items[:5], items[5:10])  # a new permutation per epoch (for this seed)

    def test_resumed_stream_is_the_tail(self):
        full = _take(self._stream(), 18)
        resumed = self._stream()
        resumed.set_start_iteration(2)  # 2 iterations x 3 items per rank
        self.assertEqual(_take(resumed, 12), full[6:])

    def test_workers_and_batches_keep_the_order(self):
        full = _take(self._stream(), 18)
        self.assertEqual(_take(self._stream(chunk=3), 18, num_workers=2, batch_size=3), full)
        self.assertEqual(_take(self._stream(chunk=1), 18, num_workers=2), full)

    def test_mapping_leaves_the_callers_rng_alone(self):
        # Mapping in the trainer process (no workers) must not move the model's RNGs.
        def draws():
            return random.random(), float(np.random.rand()), float(torch.rand(()))

        for seed in (0, 1):
            random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
            expected = draws()
            random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
            mapped = list(itertools.islice(iter(self._stream()), 4))
            self.assertEqual(draws(), expected)
            self.assertEqual(mapped, _take(self._stream(), 4))  # and the draws are seed-independent


if __name__ == "__main__":
    unittest.main()

"""The parse cache never yields a wrong dataset: truncated, byte-flipped or foreign cache files are
detected (header magic / length / CRC-32), reported with a warning naming the file, and rebuilt;
two processes writing the same cache at once leave a file that loads as a fresh parse."""

import glob
import multiprocessing
import os
import tempfile
import time
import unittest
from unittest import mock

import numpy as np

from ag_detectron.data.datasets import load_action_genome_with_counts
from ag_detectron.data.datasets.cache import HEADER_SIZE, MAGIC, load_cached, save_cached
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root

_PARSE = "ag_detectron.data.datasets.action_genome.parse_action_genome"
_LOGGER = "ag_detectron.data.datasets.cache"


def _payload_length(path: str) -> int:
    with open(path, "rb") as f:
        return int.from_bytes(f.read(HEADER_SIZE)[8:16], "little")


def _writer(path, obj, barrier, rounds):
    barrier.wait()
    for _ in range(rounds):
        save_cached(path, obj)


def _reader(path, payload, barrier, rounds, queue):
    """Counts reads that saw anything but a complete file (the exact bytes every writer writes) or
    that failed to load one."""
    barrier.wait()
    bad = reads = 0
    # ``rounds`` successful reads: a loaded machine can run the reader before any writer has
    # renamed its first file into place (the file stays once written)
    deadline = time.monotonic() + 60
    while reads < rounds and time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            time.sleep(0.001)
            continue
        reads += 1
        bad += data != payload or load_cached(path) is None
    queue.put((bad, reads))


class TestCacheReliability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = os.path.join(cls.tmp.name, "ag")
        write_ag_root(cls.root, *make_ag_annotations())
        cls.fresh = load_action_genome_with_counts(cls.root, "train", "sttran", use_cache=False)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.cache = tempfile.mkdtemp(dir=self.tmp.name)

    def _load(self):
        return load_action_genome_with_counts(self.root, "train", "sttran", cache_dir=self.cache)

    def _cache_file(self) -> str:
        (path,) = glob.glob(os.path.join(self.cache, "*.pkl"))
        return path

    def _assert_rebuilt(self, path: str) -> None:
        """The damaged ``path`` is reported, the load equals a fresh parse, and the rewritten file
        is used by the next load."""
        with self.assertLogs(_LOGGER, level="WARNING") as logs:
            self.assertEqual(self._load(), self.fresh)
        self.assertTrue(any(path in m for m in logs.output), logs.output)
        with mock.patch(_PARSE) as parse:
            self.assertEqual(self._load(), self.fresh)
            parse.assert_not_called()

    def test_header_layout(self):
        self._load()
        with open(self._cache_file(), "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], MAGIC)
        self.assertEqual(int.from_bytes(data[8:16], "little"), len(data) - HEADER_SIZE)

    def test_large_arrays_roundtrip(self):
        # large buffers reach the writer as PickleBuffer objects (protocol 5), not bytes
        obj = {"frames": np.arange(300_000, dtype=np.int64), "big": b"x" * 200_000, "n": 3}
        path = os.path.join(self.cache, "big.pkl")
        save_cached(path, obj)
        got = load_cached(path)
        self.assertEqual(set(got), set(obj))
        self.assertTrue(np.array_equal(got["frames"], obj["frames"]))
        self.assertEqual((got["big"], got["n"]), (obj["big"], 3))
        self.assertEqual(os.path.getsize(path) - HEADER_SIZE, _payload_length(path))

    def test_truncated_at_several_offsets(self):
        self._load()
        path = self._cache_file()
        with open(path, "rb") as f:
            size = len(f.read())
        for cut in (0, 5, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, size // 2, size - 1):
            with self.subTest(cut=cut):
                with open(path, "r+b") as f:
                    f.truncate(cut)
                self._assert_rebuilt(path)

    def test_flipped_bytes(self):
        self._load()
        path = self._cache_file()
        with open(path, "rb") as f:
            size = len(f.read())
        # magic, length, checksum, first payload byte, middle, last byte
        for offset in (0, 9, 17, HEADER_SIZE, (HEADER_SIZE + size) // 2, size - 1):
            with self.subTest(offset=offset):
                with open(path, "r+b") as f:
                    f.seek(offset)
                    byte = f.read(1)
                    f.seek(offset)
                    f.write(bytes([byte[0] ^ 0x5A]))
                self._assert_rebuilt(path)

    def test_trailing_bytes_and_old_format(self):
        self._load()
        path = self._cache_file()
        with open(path, "ab") as f:
            f.write(b"\x00")
        self._assert_rebuilt(path)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:  # a bare pickle, as written before the header existed
            f.write(data[HEADER_SIZE:])
        self._assert_rebuilt(path)

    def test_two_concurrent_writers(self):
        dicts, counts = self._load()
        path = self._cache_file()
        with open(path, "rb") as f:
            payload = f.read()
        expected = load_cached(path)
        os.remove(path)
        ctx = multiprocessing.get_context("fork")
        barrier, queue, rounds = ctx.Barrier(3), ctx.Queue(), 30
        procs = [
            ctx.Process(target=_writer, args=(path, expected, barrier, rounds)) for _ in range(2)
        ]
        procs.append(ctx.Process(target=_reader, args=(path, payload, barrier, 3 * rounds, queue)))
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            self.assertEqual(p.exitcode, 0)
        bad, reads = queue.get(timeout=10)
        self.assertEqual(bad, 0)  # no read saw a partial or mixed file
        self.assertGreater(reads, 0)
        self.assertEqual(os.listdir(self.cache), [os.path.basename(path)])  # no temporary left
        with open(path, "rb") as f:
            self.assertEqual(f.read(), payload)
        with mock.patch(_PARSE) as parse:
            self.assertEqual(self._load(), (dicts, counts))
            parse.assert_not_called()
        self.assertEqual((dicts, counts), self.fresh)

    def test_two_processes_parse_into_an_empty_cache(self):
        ctx = multiprocessing.get_context("fork")
        procs = [ctx.Process(target=self._load) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            self.assertEqual(p.exitcode, 0)
        self.assertEqual(len(os.listdir(self.cache)), 1)
        with mock.patch(_PARSE) as parse:
            self.assertEqual(self._load(), self.fresh)
            parse.assert_not_called()


if __name__ == "__main__":
    unittest.main()

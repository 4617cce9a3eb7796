"""Index plans: a dataset over sliceable arrays moves integers, not elements.

A dataset built from arrays (from_tensor_slices, from_tensors, range) and index-preserving
transformations (shuffle, repeat, take, skip, shard, zip, enumerate, cache) describes one pass as
a stream of integer index chunks into its source arrays. `batch` then turns each run of
batch_size indices into a batch with one fancy-index gather per component: a shuffled epoch over
60,000 images costs 1,875 gathers and no per-element Python. Functions (map, filter) and
generators fall back to element-by-element processing.

Zipped sources take 2-D index chunks, one column per zipped source.

Shuffling has two implementations, one on elements and one on indices, that make the same random
draws in the same order, so the same seed gives the same order on either path.
"""

import itertools

import numpy as np

from .. import backend
from .structure import flatten, pack

CHUNK = 65536  # indices per chunk from a source
BLOCK = 4096  # shuffle slot draws per call to the generator (both shuffle paths use it)
ROWS = 256  # elements gathered at once when an index plan is read element by element


class IndexPlan:
    """A source (`gather(idx)` gives a batch of elements) and `chunks()`, one pass of indices."""

    __slots__ = ("chunks", "source")

    def __init__(self, source, chunks):
        self.source, self.chunks = source, chunks


class ArraySource:
    """Elements are rows of arrays: element i is `structure` filled with `a[i]` for each a."""

    width = 1

    def __init__(self, structure, arrays):
        self.structure, self.arrays = structure, arrays
        self.size = len(arrays[0])

    def gather(self, idx):
        return pack(self.structure, [backend.owned(a.take(idx, axis=0)) for a in self.arrays])


class RangeSource:
    """Element i is start + i * step, computed on demand (range(10**12) costs nothing)."""

    width = 1

    def __init__(self, start, step, dtype):
        self.start, self.step, self.dtype = start, step, dtype

    def gather(self, idx):
        return (self.start + idx.astype(np.int64) * self.step).astype(self.dtype)


class ZipSource:
    """Element i of a zip is (element idx[i, 0] of the first source, idx[i, 1] of the next, …)."""

    def __init__(self, structure, sources):
        self.structure, self.sources = structure, sources
        self.width = sum(s.width for s in sources)

    def gather(self, idx):
        if idx.ndim == 1:  # one zipped source of width 1
            return pack(self.structure, [self.sources[0].gather(idx)])
        parts, col = [], 0
        for s in self.sources:
            parts.append(s.gather(idx[:, col] if s.width == 1 else idx[:, col:col + s.width]))
            col += s.width
        return pack(self.structure, parts)


def iter_rows(plan):
    """Element-by-element reading of an index plan (the slow path: map, filter, direct iteration)."""
    for idx in rechunk(plan.chunks(), ROWS):
        batch = plan.source.gather(idx)
        leaves = flatten(batch)
        for i in range(len(idx)):
            yield pack(batch, [a[i] for a in leaves])


# --- transformations of index streams; each takes an iterator of chunks and yields chunks ---

def source_chunks(n):
    for start in range(0, n, CHUNK):
        yield np.arange(start, min(n, start + CHUNK), dtype=np.int64)


def rechunk(chunks, size):
    """The same indices in chunks of exactly `size` (the last may be shorter)."""
    parts, have = [], 0
    for c in chunks:
        start = 0
        if parts:
            start = size - have
            parts.append(c[:start])
            have += len(parts[-1])
            if have < size:
                continue
            yield np.concatenate(parts)
            parts, have = [], 0
        stop = start + (len(c) - start) // size * size
        for i in range(start, stop, size):
            yield c[i:i + size]
        if stop < len(c):
            parts, have = [c[stop:]], len(c) - stop
    if parts:
        yield np.concatenate(parts)


def take_chunks(chunks, count):
    if count < 0:
        yield from chunks
        return
    for c in chunks if count else ():
        c = c[:count]
        count -= len(c)
        yield c
        if count == 0:
            return


def skip_chunks(chunks, count):
    for c in chunks:
        if count < 0:
            continue
        if count < len(c):
            yield c[count:]
        count = max(0, count - len(c))


def shard_chunks(chunks, num_shards, index):
    position = 0
    for c in chunks:
        part = c[(index - position) % num_shards::num_shards]
        position += len(c)
        if len(part):
            yield part


def repeat_chunks(make_chunks, count):
    """`count` passes (forever when count < 0); stops early when a pass is empty, as TF does."""
    for _ in itertools.count() if count < 0 else range(count):
        empty = True
        for c in make_chunks():
            empty = empty and len(c) == 0
            yield c
        if empty:
            return


def zip_chunks(streams, widths):
    """Rows of index columns, one column group per stream; stops with the shortest stream."""
    streams = [rechunk(s, CHUNK) for s in streams]
    while True:
        parts = [next(s, None) for s in streams]
        if any(p is None for p in parts):
            return
        m = min(len(p) for p in parts)
        if sum(widths) == 1:
            yield parts[0][:m]
        else:
            yield np.concatenate([p[:m].reshape(m, -1) for p in parts], axis=1)
        if m < CHUNK:
            return


# --- shuffle: TF's buffer semantics, once on elements and once vectorised on indices ---
#
# Fill a buffer with the first buffer_size elements. While the input lasts: draw a slot
# uniformly, emit its element and put the next input element in that slot. When the input is
# exhausted, emit the rest of the buffer in a random order. Slot draws come BLOCK at a time.

def shuffle_elements(elements, buffer_size, rng):
    it = iter(elements)
    buffer = list(itertools.islice(it, buffer_size))
    slots = []
    for element in it:
        if not slots:
            slots = rng.integers(0, buffer_size, size=BLOCK).tolist()[::-1]
        j = slots.pop()
        yield buffer[j]
        buffer[j] = element
    if buffer:
        for j in rng.permutation(len(buffer)).tolist():
            yield buffer[j]


def shuffle_chunks(chunks, buffer_size, rng):
    chunks = iter(chunks)
    filled, have = [], 0
    for c in chunks:
        filled.append(c)
        have += len(c)
        if have >= buffer_size:
            break
    if have == 0:
        return
    pool = np.concatenate(filled)
    buffer, rest = pool[:buffer_size].copy(), pool[buffer_size:]
    for incoming in rechunk(itertools.chain([rest], chunks), BLOCK):
        slots = rng.integers(0, buffer_size, size=BLOCK)[:len(incoming)]
        yield _shuffle_block(buffer, incoming, slots)
    yield buffer[rng.permutation(len(buffer))]


def _shuffle_block(buffer, incoming, slots):
    """Run len(slots) buffer steps at once; `buffer` is updated in place.

    Step t emits what slot slots[t] holds: the incoming element of the last earlier step that
    drew the same slot, or the buffer's content if no earlier step did. A stable sort by slot
    puts each slot's steps side by side in time order, so both cases are one gather each.
    """
    order = np.argsort(slots, kind="stable")
    s = slots[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    last = np.ones(len(s), dtype=bool)
    last[:-1] = first[1:]
    out = np.empty_like(incoming)
    out[order[first]] = buffer[s[first]]
    later = np.flatnonzero(~first)
    out[order[later]] = incoming[order[later - 1]]
    buffer[s[last]] = incoming[order[last]]
    return out

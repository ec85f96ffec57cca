"""Batches as a pure function of (seed, stream, iteration), so a resumed run sees exactly the data it would have.

Each stream walks through its dataset in epochs of a seeded permutation (dropping the incomplete last
batch); every sample also gets its own augmentation seed. Under DistributedDataParallel, rank k takes
every world-th sample of the global batch, so 1 GPU and N GPUs see the same global batches.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

MIX = 1_000_003    # mixes (seed, stream, epoch) and (seed, iteration) into one seed


def _stream_seed(seed: int, stream: int, epoch: int) -> int:
    return (seed * MIX + stream) * MIX + epoch


class StreamBatchSampler(Sampler):
    """Yields the batches of iterations [start, stop) as lists of (index, augmentation seed)."""

    def __init__(self, size: int, batch_size: int, seed: int, stream: int, start: int, stop: int,
                 rank: int = 0, world_size: int = 1):
        if size < batch_size:
            raise ValueError(f"a stream of {size} samples cannot fill a batch of {batch_size}")
        self.size, self.batch_size, self.seed, self.stream = size, batch_size, seed, stream
        self.start, self.stop, self.rank, self.world_size = start, stop, rank, world_size
        self.batches_per_epoch = size // batch_size

    def global_batch(self, iteration: int) -> list[tuple[int, int]]:
        epoch, position = divmod(iteration, self.batches_per_epoch)
        generator = torch.Generator().manual_seed(_stream_seed(self.seed, self.stream, epoch))
        order = torch.randperm(self.size, generator=generator)
        aug_seeds = torch.randint(0, 2**62, (self.size,), generator=generator)
        chosen = range(position * self.batch_size, (position + 1) * self.batch_size)
        return [(int(order[i]), int(aug_seeds[i])) for i in chosen]

    def __iter__(self):
        for iteration in range(self.start, self.stop):
            yield self.global_batch(iteration)[self.rank::self.world_size]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def stream_loader(dataset: Dataset, batch_size: int, seed: int, stream: int, start: int, stop: int,
                  num_workers: int = 0, pin_memory: bool = False, rank: int = 0, world_size: int = 1) -> DataLoader:
    """A DataLoader over iterations [start, stop): one iterator for the whole run keeps its workers alive."""
    sampler = StreamBatchSampler(len(dataset), batch_size, seed, stream, start, stop, rank, world_size)
    # A private generator: starting an iterator must not draw from the global RNG (which drives dropout), or a
    # resumed run, whose loaders start at another iteration, would drift from the uninterrupted one.
    generator = torch.Generator().manual_seed(_stream_seed(seed, stream, start))
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
                      prefetch_factor=4 if num_workers else None, generator=generator)

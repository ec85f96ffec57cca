"""Multi-GPU through torchrun: DistributedDataParallel when WORLD_SIZE > 1, plain single-process otherwise."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import GpslibError
from ..models import unwrap  # noqa: F401 - the trainer unwraps through this module


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> Runtime:
    """Read torchrun's LOCAL_RANK/RANK/WORLD_SIZE when present; no environment variables are needed otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GpslibError(f"device={device!r} was requested but no CUDA GPU is visible; use device='cpu' or 'auto'.")
    if world_size == 1:
        return Runtime(torch.device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
        target = torch.device("cuda", local_rank)
    else:
        target = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
    return Runtime(target, rank, world_size)


def wrap(net: nn.Module, runtime: Runtime) -> nn.Module:
    """DDP across processes (with SyncBatchNorm on GPUs, as CPS trains); the bare module on one process."""
    if not runtime.distributed:
        return net
    if runtime.device.type != "cuda":   # SyncBatchNorm needs CUDA; CPU (gloo) runs keep per-process BN
        return nn.parallel.DistributedDataParallel(net)
    net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return nn.parallel.DistributedDataParallel(net, device_ids=[runtime.device.index])


def rank_mean(runtime: Runtime, *values: torch.Tensor) -> torch.Tensor:
    """Average over DDP ranks, so every rank latches the ramp-up at the same moment (identity on one process)."""
    stacked = torch.stack([v.detach().float() for v in values])
    if runtime.distributed:
        dist.all_reduce(stacked)
        stacked = stacked / runtime.world_size
    return stacked


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()

"""The Transformer trained over several processes with PyTorch's own runtime (``torch.distributed``,
gloo on CPU, launched by ``torchrun``): every process builds the same windows, takes its share
of each epoch's batches, and ``DistributedDataParallel`` averages the gradients, so the weights
stay the same everywhere. Whatever ends an epoch or the training early (a deadline) is decided
together, so no process waits in a collective for one that stopped. In one process (no process
group) every helper here is the identity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")
LossStep = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]
]


def ranks() -> tuple[int, int]:
    """(this process's rank, how many processes train together); (0, 1) alone."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def share(batches: Sequence[T]) -> list[T]:
    """This process's batches of an epoch: every process takes as many (a collective each),
    the fewest any process has a share of."""
    rank, size = ranks()
    if size == 1:
        return list(batches)
    each = torch.tensor([len(batches) // size])
    dist.all_reduce(each, op=dist.ReduceOp.MIN)
    count = int(each.item())
    return list(batches[rank * count : (rank + 1) * count])


def any_of(flag: bool) -> bool:
    """Whether any process says so (every process must ask)."""
    if ranks()[1] == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def summed(values: Sequence[float]) -> list[float]:
    """Each value summed over the processes."""
    if ranks()[1] == 1:
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor)
    return [float(value) for value in tensor.tolist()]


class _Step(torch.nn.Module):
    """One batch's loss as a module, so DistributedDataParallel sees every parameter it uses."""

    def __init__(self, network: torch.nn.Module, loss: LossStep) -> None:
        super().__init__()
        self.network, self._loss = network, loss

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, k: torch.Tensor, ties: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._loss(x, y, k, ties)


def loss_step(network: torch.nn.Module, loss: LossStep) -> LossStep:
    """``loss`` alone, or wrapped so its gradients are averaged over the processes (the
    weights are first made rank 0's)."""
    if ranks()[1] == 1:
        return loss
    wrapped = torch.nn.parallel.DistributedDataParallel(_Step(network, loss), find_unused_parameters=True)
    return lambda x, y, k, ties: wrapped(x, y, k, ties)


def announce(job: object) -> None:
    """Rank 0: send the processes that follow it the next fit (its config and data); None
    tells them training is over."""
    if ranks()[1] > 1 and ranks()[0] == 0:
        dist.broadcast_object_list([job], src=0)


def receive() -> object:
    """Another rank: the next fit rank 0 announces (None: training is over)."""
    found: list[object] = [None]
    dist.broadcast_object_list(found, src=0)
    return found[0]

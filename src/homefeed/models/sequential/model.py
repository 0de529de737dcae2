"""SequentialRecommender: trains the Transformer on every position of every sequence at once.

Full softmax cross-entropy over the catalog (every position predicts the next item), AdamW,
early stopping on validation NDCG@10, fixed seeds. Saved as safetensors + JSON.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self, cast

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from threadpoolctl import threadpool_limits

from homefeed.domain import UserProfile
from homefeed.models.base import Recommender, Validation, top_k
from homefeed.models.data import Interactions, blanked_rows, kept_sequences, pack_sequences, unpack_sequences
from homefeed.models.sequential.distributed import (
    LossStep,
    announce,
    any_of,
    loss_step,
    ranks,
    receive,
    share,
    summed,
)
from homefeed.models.sequential.fast import OnnxSequenceEncoder
from homefeed.models.sequential.network import SequenceEncoder

logger = logging.getLogger(__name__)
EpochCallback = Callable[[int, float, float | None], None]


@dataclass
class SequentialConfig:
    """Defaults are the measured recipe (docs/journal/); ``SequentialSettings`` mirrors them."""

    max_length: int = 30
    stride: int | None = None  # overlapping training windows (each target re-encoded); None = one pass
    # each epoch the windows before a long history's newest one start at a new random point, so a
    # target is read with a different context every epoch (non-overlapping windows only)
    shift_windows: bool = True
    attention_window: int | None = None  # how many recent items each position attends to
    positions: str = "relative"  # learned bias by distance; "absolute" embeddings; "alibi" fixed slopes
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.3
    learning_rate: float = 2.5e-3
    schedule: str = "cosine"  # decays to 0 over `epochs`; or "constant"
    weight_decay: float = 0.01
    batch_size: int = 24
    epochs: int = 14
    patience: int = 14
    mask_seen: bool = True  # leave items already in the sequence out of each target's softmax
    # events within the same tie_seconds of each other have no known order (a rating session
    # logs many at one second): each epoch trains on a fresh random order within each such tie
    tie_seconds: float | None = 1.0
    tie_targets: bool = True  # with tie_seconds: every later event of the target's tie is a target too
    # catalogs above this size train with sampled softmax: each batch scores its own items plus
    # `negatives` drawn by popularity, with the log of each item's sampling probability subtracted
    sampled_above: int = 100_000
    negatives: int = 4096
    validate_after: int = 7  # epochs before the first validation (early high-lr epochs never win)
    use_ids: bool = True
    use_text: bool = True
    seed: int = 0
    max_seconds: float | None = None  # a training budget, checked after every batch
    threads: int = 0
    inference: str = "onnx"  # user vectors of the trained model through ONNX Runtime, or "torch"


def _adamw(network: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with its fused kernel: on CPU PyTorch otherwise updates one tensor at a time, which
    was most of a small training step's time (same update rule)."""
    parameters = list(network.parameters())
    try:
        return torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay, fused=True)
    except RuntimeError:  # a device or dtype without the fused kernel
        return torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay)


def _check_inference(inference: str) -> None:
    if inference not in {"onnx", "torch"}:
        raise ValueError(f"inference must be 'onnx' or 'torch', got {inference!r}")


class SequentialRecommender(Recommender):
    """A SASRec-style user model whose item vectors come from IDs and from text."""

    name = "sequential"
    config_keys = tuple(field.name for field in fields(SequentialConfig))
    config_from = "settings"
    prefers_history = True
    scores_by_vectors = True

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.settings = SequentialConfig(**options)
        self.network: SequenceEncoder | None = None
        self.kind_values: list[float] = []
        self.text: np.ndarray | None = None
        self.sequences: list[np.ndarray] = []
        self.history: list[dict[str, float]] = []  # per epoch: loss, validation metric
        self.on_epoch: EpochCallback | None = None
        self._table: torch.Tensor | None = None
        self._sampling: torch.Tensor | None = None  # negative sampling distribution, when sampled
        self._onnx: OnnxSequenceEncoder | None = None  # the trained network's export, once made
        self._export_failed = False  # then PyTorch encodes, without trying again
        self._fitting = False  # weights still change: no export yet
        _check_inference(self.settings.inference)

    @property
    def reads_item_text(self) -> bool:
        return self.settings.use_text

    # -- training ---------------------------------------------------------
    def _fit(self, data: Interactions) -> None:
        self._fit_validated(data, None)

    def _fit_validated(self, data: Interactions, validation: Validation | None) -> None:
        announce((dataclasses.asdict(self.settings), data, validation))  # to the other ranks, if any
        # numpy's BLAS threads (validation scores with it) spin after each call and take a core
        # from PyTorch's, making a validation product an order of magnitude slower
        with threadpool_limits(1, "blas"):
            self._train(data, validation)

    def _train(self, data: Interactions, validation: Validation | None) -> None:
        cfg = self.settings
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        sequences = data.sequences()
        ties = self._tie_groups(data)
        self.kind_values = sorted({float(w) for _, weights in sequences for w in weights})
        self.sequences = [items for items, _ in sequences]
        kinds = [self._kinds(weights) for _, weights in sequences]
        if not cfg.use_ids and data.item_text is None:
            raise ValueError("a text-only sequential model needs item text embeddings")
        self.text = data.item_text if cfg.use_text else None
        if validation is None:
            validation, train_items, train_kinds = self._holdout(self.sequences, kinds, rng)
        else:
            train_items, train_kinds = self.sequences, kinds
        self.network = self._build_network(data.n_items)
        self._onnx, self._export_failed, self._fitting = None, False, True
        if ties is not None:
            ties = [group[: len(sequence)] for group, sequence in zip(ties, train_items, strict=True)]
        inputs, targets, input_kinds, target_ties = self._windows(train_items, train_kinds, ties, rng)
        self._sampling = self._sampling_distribution(train_items, data.n_items)
        step = loss_step(self.network, self._batch_loss)  # gradients averaged over processes, if several
        optimizer = _adamw(self.network, cfg.learning_rate, cfg.weight_decay)
        steps_per_epoch = math.ceil(len(inputs) / cfg.batch_size / ranks()[1])
        scheduler = self._scheduler(optimizer, steps_per_epoch * cfg.epochs)
        best_score, best_state, since_best = -1.0, None, 0
        started = time.perf_counter()
        self.history = []
        for epoch in range(1, cfg.epochs + 1):
            if epoch > 1 and (ties is not None or self._shifting):
                shuffled, shuffled_kinds = (
                    self._shuffle_ties(train_items, train_kinds, ties, rng)
                    if ties is not None
                    else (train_items, train_kinds)
                )
                inputs, targets, input_kinds, target_ties = self._windows(shuffled, shuffled_kinds, ties, rng)
            deadline = started + cfg.max_seconds if cfg.max_seconds is not None else None
            loss = self._epoch(
                inputs, targets, input_kinds, target_ties, optimizer, scheduler, rng, step, deadline
            )
            validating = validation.histories and epoch > min(cfg.validate_after, cfg.epochs - 1)
            score = self._validate(validation) if validating else None
            self.history.append(
                {"epoch": epoch, "loss": loss, "valid_ndcg@10": score if score is not None else float("nan")}
            )
            if self.on_epoch is not None:
                self.on_epoch(epoch, loss, score)
            if self.on_progress is not None:
                shown = f", valid NDCG@10 {score:.4f}" if score is not None else ""
                self.on_progress(f"epoch {epoch}, loss {loss:.3f}{shown}")
            if score is None:
                pass  # not validated (yet): the latest weights are used unless a validated one wins
            elif score > best_score:
                best_score, best_state, since_best = score, copy.deepcopy(self.network.state_dict()), 0
            else:
                since_best += 1
            if since_best >= cfg.patience:
                break
            if cfg.max_seconds is not None and any_of(time.perf_counter() - started > cfg.max_seconds):
                break
        if best_state is not None:
            self.network.load_state_dict(best_state)
        self._forget_untrained_ids(train_items, data.n_items)
        self.network.eval()
        self._table = None
        self._fitting = False

    def set_inference(self, inference: str) -> None:
        """How user vectors of the trained model are computed from now on: "onnx" or "torch"
        (the export, once made, is kept: switching back costs nothing)."""
        _check_inference(inference)
        self.settings.inference = inference
        self._fast_encoder()  # export now (a service's start-up), not in its first request

    @property
    def encoder_in_use(self) -> str:
        """What encodes sequences now: "onnx", or "torch" (asked for, or the export failed)."""
        return "onnx" if self._fast_encoder() is not None else "torch"

    def _fast_encoder(self) -> OnnxSequenceEncoder | None:
        """The trained network exported to ONNX Runtime, made on first use (``inference="onnx"``
        only, never while fitting); should the export fail, PyTorch encodes, with the same values."""
        if self.settings.inference != "onnx" or self.network is None or self._fitting:
            return None
        if self._onnx is None and not self._export_failed:
            try:
                self._onnx = OnnxSequenceEncoder(self.network, self.settings.max_length)
            except Exception:
                logger.exception("exporting the sequential model to ONNX failed: encoding with PyTorch")
                self._export_failed = True
        return self._onnx

    def _scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler:
        if self.settings.schedule == "cosine":
            return torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
            )
        if self.settings.schedule != "constant":
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.settings.schedule!r}")
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _step: 1.0)

    def _forget_untrained_ids(self, sequences: list[np.ndarray], n_items: int) -> None:
        """Items never seen in training only ever acted as negatives: their ID vectors carry no
        information but a push down, so they are zeroed and such items are scored by text alone."""
        assert self.network is not None
        ids = self.network.items.ids
        if ids is None:
            return
        seen = np.zeros(n_items, dtype=bool)
        for sequence in sequences:
            seen[sequence] = True
        with torch.no_grad():
            ids.weight[1:][torch.from_numpy(~seen)] = 0.0

    def _tie_groups(self, data: Interactions) -> list[np.ndarray] | None:
        """Per user and event: the index of its tie (events in the same tie_seconds bucket)."""
        if not self.settings.tie_seconds:
            return None
        return [np.floor(t / self.settings.tie_seconds).astype(np.int64) for t in data.sequence_timestamps()]

    @staticmethod
    def _shuffle_ties(
        items: list[np.ndarray], kinds: list[np.ndarray], ties: list[np.ndarray], rng: np.random.Generator
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The sequences with events of one tie in a random order; ties stay in time order."""
        orders = [np.lexsort((rng.random(len(group)), group)) for group in ties]
        return (
            [sequence[order] for sequence, order in zip(items, orders, strict=True)],
            [kind[order] for kind, order in zip(kinds, orders, strict=True)],
        )

    def _kinds(self, weights: np.ndarray) -> np.ndarray:
        lookup = {value: index + 1 for index, value in enumerate(self.kind_values)}
        return np.array([lookup.get(float(w), 0) for w in weights], dtype=np.int64)

    def _holdout(
        self, items: list[np.ndarray], kinds: list[np.ndarray], rng: np.random.Generator
    ) -> tuple[Validation, list[np.ndarray], list[np.ndarray]]:
        """Hold out the last item of up to 10 % of users (at most 1,000) for early stopping."""
        eligible = [u for u, seq in enumerate(items) if len(seq) >= 3]
        size = min(len(eligible), 1000, max(1, len(eligible) // 10)) if eligible else 0
        chosen = set(rng.choice(eligible, size=size, replace=False).tolist()) if size else set()
        train_items = [seq[:-1] if u in chosen else seq for u, seq in enumerate(items)]
        train_kinds = [k[:-1] if u in chosen else k for u, k in enumerate(kinds)]
        validation = Validation(
            histories=[items[u][:-1] for u in sorted(chosen)],
            targets=[{int(items[u][-1])} for u in sorted(chosen)],
        )
        return validation, train_items, train_kinds

    @property
    def _shifting(self) -> bool:
        cfg = self.settings
        return cfg.shift_windows and (cfg.stride is None or cfg.stride >= cfg.max_length)

    def _windows(
        self,
        items: list[np.ndarray],
        kinds: list[np.ndarray],
        ties: list[np.ndarray] | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Left-padded (input, target, kind, target tie) windows of max_length; long histories
        give several. The target ties are None without ``ties``.

        The newest window ends at the last item. The older ones end every max_length items
        before it or, with ``shift_windows`` and an ``rng``, before a random point inside it (a
        new one each call): then the window just older than the newest trains only the targets
        the newest does not cover, with a long context. Windows overlap when ``stride`` <
        max_length; each next item is a target in exactly one window (the latest one whose last
        ``stride`` positions cover it), so every target but the earliest sees at least
        max_length - stride items of context.
        """
        length = self.settings.max_length
        stride = min(self.settings.stride or length, length)
        shifting = rng is not None and self._shifting
        counts = [len(sequence) for sequence in items]
        plan = self._window_plan(counts, length, stride, rng if shifting else None)
        offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        user, start, end, covered = plan.T
        # each row's positions, right-aligned: position p reads event start + p - (length - width)
        width = end - start
        local = np.arange(length)[None, :] - (length - width)[:, None]
        filled = local >= 0
        source = offsets[user][:, None] + start[:, None] + np.where(filled, local, 0)
        target_ok = filled & ((start[:, None] + 1 + local) < covered[:, None])  # newer windows' targets
        if stride < length:  # overlapping windows: only the last `stride` targets are trained here
            target_ok &= (start[:, None] == 0) | (local >= (width - stride)[:, None])
        keep = target_ok.any(axis=1)
        filled, source, target_ok = filled[keep], source[keep], target_ok[keep]
        tokens = _flat(items) + 1  # 0 is padding
        inputs = np.where(filled, tokens[source], 0)
        targets = np.where(target_ok, tokens[source + 1], 0)
        input_kinds = np.where(filled, _flat(kinds)[source], 0)
        tensors = torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(input_kinds)
        if ties is None:
            return *tensors, None
        return *tensors, torch.from_numpy(np.where(filled, _flat(ties)[source + 1], -1))

    @staticmethod
    def _window_plan(
        counts: list[int], length: int, stride: int, rng: np.random.Generator | None
    ) -> np.ndarray:
        """[windows, 4] int64: user, start, end (the window reads events start..end - 1 and
        predicts start + 1..end) and the first event that a newer window of the user trains,
        newest window first. With an ``rng`` (shifting) the older windows end before a random
        point inside the newest, drawn once per user."""
        rows: list[tuple[int, int, int, int]] = []
        for user, count in enumerate(counts):
            last = count - 1
            shift = int(rng.integers(1, length + 1)) if rng is not None else stride
            covered = count
            for end in [last, *range(last - shift, 0, -stride)] if last > 0 else []:
                start = max(0, end - length)
                rows.append((user, start, end, covered))
                if rng is not None:
                    covered = start + 1
        return np.array(rows, dtype=np.int64).reshape(-1, 4)

    def _epoch(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        kinds: torch.Tensor,
        target_ties: torch.Tensor | None,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        rng: np.random.Generator,
        step: LossStep,
        deadline: float | None = None,
    ) -> float:
        """One pass over the windows, or as much of it as ends before ``deadline`` (a
        ``time.perf_counter()`` value: ``max_seconds`` holds within an epoch too); with several
        processes, this one's share of it (``distributed``)."""
        assert self.network is not None
        self.network.train()
        self._table = None  # every step changes the item vectors: validation must not read old ones
        # batches of similar lengths (shuffled within and across), so little time goes to padding
        lengths = (inputs != 0).sum(dim=1).numpy()
        noisy = lengths + rng.uniform(0, 1, len(lengths)) * 8
        order = np.argsort(noisy, kind="stable")
        size = self.settings.batch_size
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        mine = share([batches[index] for index in rng.permutation(len(batches))])  # all of them alone
        total, count = 0.0, 0
        for number, chosen in enumerate(mine):
            if deadline is not None and number and any_of(time.perf_counter() > deadline):
                break
            batch = torch.from_numpy(chosen)
            ties = target_ties[batch] if target_ties is not None else None
            loss, targets_in_batch = step(inputs[batch], targets[batch], kinds[batch], ties)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), 1.0, foreach=True)
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * int(targets_in_batch)
            count += int(targets_in_batch)
        total, all_targets = summed([total, float(count)])
        return total / max(all_targets, 1.0)

    def _batch_loss(
        self, x: torch.Tensor, y: torch.Tensor, k: torch.Tensor, ties: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch's loss, and how many targets it had."""
        assert self.network is not None
        used = (x != 0).any(dim=0)  # drop columns that are padding in the whole batch
        x, y, k = x[:, used], y[:, used], k[:, used]
        ties = ties[:, used] if ties is not None else None
        if self._sampling is None:
            table, log_q = self.network.items.table(), None
        else:  # the batch's own items and the sampled negatives, renumbered 1..V
            x, y, table, log_q = self._sampled_vocabulary(x, y, self._sampling)
        hidden = self.network(x, k, table)
        mask = y > 0
        logits = hidden[mask] @ table[1:].T
        if log_q is not None:
            logits = logits - log_q
        if self.settings.mask_seen:
            # outside autograd: a seen item's log-softmax gradient is 0 anyway, so masking
            # needs no backward pass of its own
            with torch.no_grad():
                logits.masked_fill_(self._seen_before(x, y, mask, len(table)), float("-inf"))
        if ties is not None and self.settings.tie_targets:
            loss = self._tie_loss(logits, y, ties, mask)
        else:
            loss = torch.nn.functional.cross_entropy(logits, y[mask] - 1)
        return loss, mask.sum()

    @staticmethod
    def _tie_loss(
        logits: torch.Tensor, y: torch.Tensor, ties: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Cross-entropy against every event of the target's tie from the target on (any of
        them could have come next), each weighted 1 / their number."""
        log_p = torch.log_softmax(logits, dim=-1)
        rows, steps = mask.nonzero(as_tuple=True)
        later = steps[:, None] <= torch.arange(y.shape[1])[None, :]
        same = (ties[rows] == ties[rows, steps][:, None]) & later & mask[rows]
        target_row, position = same.nonzero(as_tuple=True)
        picked = log_p[target_row, y[rows[target_row], position] - 1]
        usable = torch.isfinite(picked)  # an item seen earlier (a repeat) is no target
        weights = (
            usable.float() / torch.zeros(len(rows)).index_add_(0, target_row, usable.float())[target_row]
        )
        return -(torch.where(usable, picked, 0.0) * weights).sum() / len(rows)

    def _sampling_distribution(self, sequences: list[np.ndarray], n_items: int) -> torch.Tensor | None:
        """Above ``sampled_above`` items: each item's probability of being drawn as a negative,
        its share of training events mixed with a tenth of uniform (so every item can be)."""
        if n_items <= self.settings.sampled_above:
            return None
        counts = np.bincount(np.concatenate(sequences), minlength=n_items) if sequences else np.zeros(n_items)
        share = counts / max(counts.sum(), 1)
        return torch.from_numpy(0.9 * share + 0.1 / n_items).float()

    def _sampled_vocabulary(
        self, x: torch.Tensor, y: torch.Tensor, q: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampled softmax: the batch's items and ``negatives`` draws from ``q`` become the
        columns; inputs and targets are renumbered into them (0 stays padding), and the columns'
        log q is returned for the log-Q correction of their logits."""
        assert self.network is not None
        drawn = torch.multinomial(q, self.settings.negatives, replacement=True) + 1
        vocabulary, local = torch.unique(
            torch.cat([torch.zeros(1, dtype=torch.int64), x.flatten(), y.flatten(), drawn]),
            return_inverse=True,
        )
        x_local = local[1 : 1 + x.numel()].view_as(x)
        y_local = local[1 + x.numel() : 1 + x.numel() + y.numel()].view_as(y)
        return x_local, y_local, self.network.items.rows(vocabulary), torch.log(q[vocabulary[1:] - 1])

    @staticmethod
    def _seen_before(
        inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, width: int
    ) -> torch.Tensor:
        """[targets, width - 1]: for each masked target position, the items (1..width-1) already
        in its sequence, the target itself excepted. Pages never show seen items, so training
        need not rank them."""
        rows, steps = mask.nonzero(as_tuple=True)
        later = torch.arange(inputs.shape[1])[None, :] > steps[:, None]
        history = inputs[rows].masked_fill_(later, 0)  # the items read before each target
        seen = torch.zeros(len(rows), width, dtype=torch.bool)
        seen.scatter_(1, history, True)
        seen[torch.arange(len(rows)), targets[rows, steps]] = False
        return seen[:, 1:]

    def _validate(self, validation: Validation, k: int = 10) -> float:
        """Mean NDCG@k of the held-out next items, the history excluded."""
        scores = self.score_histories(validation.histories)
        for row, history in enumerate(validation.histories):
            scores[row, history] = -np.inf
        ranked, _ = top_k(scores, k)
        ndcg = []
        for top, targets in zip(ranked, validation.targets, strict=True):
            gains = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(top) if int(item) in targets)
            ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(targets), k)))
            ndcg.append(gains / ideal if ideal else 0.0)
        return float(np.mean(ndcg)) if ndcg else 0.0

    # -- scoring ----------------------------------------------------------
    def _item_table(self) -> torch.Tensor:
        assert self.network is not None
        if self._table is None or self.network.training:
            with torch.no_grad():
                self._table = self.network.items.table().detach()
        return self._table

    def encode_histories(
        self, histories: Sequence[np.ndarray], kinds: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """User vectors [len(histories), hidden]: the encoder's last hidden state."""
        assert self.network is not None
        length = self.settings.max_length
        items = np.zeros((len(histories), length), dtype=np.int64)
        kind_rows = np.zeros((len(histories), length), dtype=np.int64)
        default_kind = self._kinds(np.array([1.0]))[0] if 1.0 in self.kind_values else 1
        for row, history in enumerate(histories):
            tail = np.asarray(history[-length:], dtype=np.int64)
            if len(tail):
                items[row, length - len(tail) :] = tail + 1
                kind_rows[row, length - len(tail) :] = (
                    kinds[row][-length:] if kinds is not None else default_kind
                )
        fast = self._fast_encoder() if len(histories) else None
        if fast is not None:
            return fast.last_states(items, kind_rows, self._item_table().numpy())
        was_training = self.network.training
        if was_training:  # train()/eval() walk every submodule: not on every request
            self.network.eval()
        with torch.inference_mode():  # lighter than no_grad: no version counters
            used = torch.from_numpy((items != 0).any(axis=0))
            if not bool(used.any()):
                used[-1] = True
            x = torch.from_numpy(items)[:, used]
            k = torch.from_numpy(kind_rows)[:, used]
            hidden = self.network(x, k, self._item_table())[:, -1]
        if was_training:
            self.network.train()
        vectors: np.ndarray = hidden.numpy()
        return vectors

    def add_items(self, item_ids: Sequence[str], text: np.ndarray | None = None) -> None:
        """Make items created after training scorable, from their text embeddings."""
        assert self.network is not None
        fresh = [item for item in item_ids if item not in self._item_index]
        if not fresh:
            return
        rows = [list(item_ids).index(item) for item in fresh]
        vectors = None if text is None else np.asarray(text, dtype=np.float32)[rows]
        self.network.items.extend(None if vectors is None else torch.from_numpy(vectors), len(fresh))
        if vectors is not None and self.text is not None:
            self.text = np.vstack([self.text, vectors])
        self._set_vocabulary(self.user_ids, [*self.item_ids, *fresh])
        self._table = None

    def item_vectors(self) -> np.ndarray:
        vectors: np.ndarray = self._item_table()[1:].numpy()
        return vectors

    def score_histories(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores [len(histories), n_items] (the item table read once: training recomputes it)."""
        return self._scores_against(histories, self.item_vectors())

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        """:meth:`score_histories` of ``items`` only: those items' vectors alone."""
        return self._scores_against(histories, self.item_vectors()[items])

    def _scores_against(self, histories: Sequence[np.ndarray], vectors: np.ndarray) -> np.ndarray:
        """Each history's user vector times ``vectors`` [len(histories), len(vectors)]; histories
        are encoded in batches of similar length, so short ones are not padded to the longest."""
        scores = np.zeros((len(histories), len(vectors)), dtype=np.float32)
        order = np.argsort([min(len(h), self.settings.max_length) for h in histories], kind="stable")
        for start in range(0, len(order), 256):
            rows = order[start : start + 256]
            scores[rows] = self.encode_histories([histories[row] for row in rows]) @ vectors.T
        return scores

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The user's vector [hidden] from a fresh history (positive events, oldest first):
        scores are its inner products with ``item_vectors()``."""
        positive = weights > 0
        vector: np.ndarray = self.encode_histories([items[positive]], [self._kinds(weights[positive])])[0]
        return vector

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.item_vectors() @ self.user_vector(items, weights)
        return scores

    def new_user_vectors(
        self, histories: Sequence[np.ndarray], profiles: Sequence[UserProfile | None]
    ) -> np.ndarray:
        """The vectors :meth:`score_new_users` multiplies with the item table (no event kinds)."""
        chunks = [
            self.encode_histories(list(histories[at : at + 256])) for at in range(0, len(histories), 256)
        ]
        return np.vstack(chunks) if chunks else np.zeros((0, self.item_vectors().shape[1]), dtype=np.float32)

    def user_vectors(self, histories: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Every history's user vector in one batch (an explanation's leave-one-out histories)."""
        positive = [(items[weights > 0], weights[weights > 0]) for items, weights in histories]
        return self.encode_histories([items for items, _ in positive], [self._kinds(w) for _, w in positive])

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return self.score_histories([self.sequences[u] for u in users])

    # -- deletion ---------------------------------------------------------
    def _keep_users(self, keep: np.ndarray) -> None:
        self.sequences = kept_sequences(self.sequences, keep)

    def _blank_items(self, indices: np.ndarray) -> None:
        """Zero the items' learned ID rows and text rows (row 0 of the network is padding)."""
        if self.text is not None:
            self.text = blanked_rows(self.text, indices)
        if self.network is not None:
            rows = torch.from_numpy(indices + 1)
            with torch.no_grad():
                if self.network.items.ids is not None:
                    self.network.items.ids.weight[rows] = 0.0
                if self.network.items.text is not None:
                    self.network.items.text[rows] = 0.0
        self._table = None

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"sequence": self.item_id_list(self.sequences[index])}

    # -- persistence ------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - save() is overridden
        raise NotImplementedError

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:  # pragma: no cover
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        """Weights and arrays as safetensors, configuration and vocabulary as JSON."""
        assert self.network is not None
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"network.{k}": v.contiguous() for k, v in self.network.state_dict().items()}
        if self.text is not None:
            tensors["text"] = torch.from_numpy(np.ascontiguousarray(self.text))
        tensors.update(
            {key: torch.from_numpy(array) for key, array in pack_sequences(self.sequences).items()}
        )
        save_file(tensors, str(directory / "model.safetensors"))
        self._write_meta(directory, kind_values=self.kind_values, training=self.history)

    def _build_network(self, n_items: int) -> SequenceEncoder:
        cfg = self.settings
        return SequenceEncoder(
            n_items=n_items,
            n_kinds=len(self.kind_values),
            text=torch.from_numpy(self.text) if self.text is not None else None,
            max_length=cfg.max_length,
            hidden=cfg.hidden,
            layers=cfg.layers,
            heads=cfg.heads,
            dropout=cfg.dropout,
            use_ids=cfg.use_ids,
            attention_window=cfg.attention_window,
            positions=cfg.positions,
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        model, meta = cls._from_meta(directory)
        model.kind_values = meta["kind_values"]
        model.history = meta.get("training", [])
        tensors = load_file(str(directory / "model.safetensors"))
        text = tensors.get("text")
        model.text = text.numpy() if text is not None else None
        model.network = model._build_network(len(model.item_ids))
        model.network.load_state_dict(
            {k.removeprefix("network."): v for k, v in tensors.items() if k.startswith("network.")}
        )
        model.network.eval()
        model.sequences = unpack_sequences(
            tensors["sequence_lengths"].numpy(), tensors["sequence_items"].numpy()
        )
        return model


def _flat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The users' arrays end to end as int64, plus one trailing 0: a padded position's index
    may point one past the last event, and is masked out after the read."""
    return np.concatenate([*arrays, np.zeros(1, dtype=np.int64)]).astype(np.int64)


def follow_training() -> list[SequentialRecommender]:
    """A process other than rank 0 (``homefeed train --nproc``): fit, in step with rank 0,
    every Transformer it fits (on the data it sends), until it says training is over; returns
    them (they hold the same weights as rank 0's). Only rank 0 reads the store and writes the
    version."""
    fitted: list[SequentialRecommender] = []
    while (job := receive()) is not None:
        options, data, validation = cast(tuple[dict[str, Any], Interactions, Validation | None], job)
        fitted.append(SequentialRecommender(**options).fit(data, validation))
    return fitted

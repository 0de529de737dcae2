"""The PyTorch network: item representations from IDs and text, a causal Transformer encoder."""

from __future__ import annotations

import torch
from torch import nn


class ItemRepresentation(nn.Module):
    """Item vectors = learned ID embedding + gated projection of the frozen text embedding.

    Index 0 is padding. Either part can be switched off (ID-only / text-only ablations);
    an item that never appeared in training still has the text part, so it can be scored.
    """

    def __init__(self, n_items: int, hidden: int, text: torch.Tensor | None, use_ids: bool) -> None:
        super().__init__()
        self.ids = nn.Embedding(n_items + 1, hidden, padding_idx=0) if use_ids else None
        if self.ids is not None:
            nn.init.normal_(self.ids.weight, std=0.02)
            with torch.no_grad():
                self.ids.weight[0].zero_()
        self.text: torch.Tensor | None
        if text is not None:
            padded = torch.cat([torch.zeros(1, text.shape[1]), text.float()])
            self.register_buffer("text", padded, persistent=False)
            self.projection = nn.Linear(text.shape[1], hidden)
            self.gate = nn.Parameter(torch.zeros(hidden))
        else:
            self.text = None

    def extend(self, text: torch.Tensor | None, count: int) -> None:
        """Append ``count`` items that were not in training: no ID vector yet, text if given."""
        if self.ids is not None:
            grown = nn.Embedding(self.ids.num_embeddings + count, self.ids.embedding_dim, padding_idx=0)
            with torch.no_grad():
                grown.weight.zero_()
                grown.weight[: self.ids.num_embeddings] = self.ids.weight
            self.ids = grown
        if self.text is not None:
            if text is None:
                raise ValueError("this model reads item text: give the new items' text embeddings")
            self.text = torch.cat([self.text, text.float()])

    def size(self) -> int:
        """How many items (padding excluded)."""
        if self.ids is not None:
            return self.ids.num_embeddings - 1
        assert self.text is not None
        return self.text.shape[0] - 1

    def table(self) -> torch.Tensor:
        """[n_items + 1, hidden]: every item's vector (row 0 = padding)."""
        return self.rows(None)

    def rows(self, indices: torch.Tensor | None) -> torch.Tensor:
        """The vectors of item ``indices`` (0 = padding, a zero vector), or of all items: with
        sampled softmax a training step computes only the rows it uses."""
        parts = []
        if self.ids is not None:
            parts.append(self.ids.weight if indices is None else self.ids(indices))
        if self.text is not None:
            text = self.text if indices is None else self.text[indices]
            projected = self.projection(text) * torch.sigmoid(self.gate) * 2.0
            padding = torch.arange(len(text)) == 0 if indices is None else indices == 0
            parts.append(projected.masked_fill(padding[:, None], 0.0))
        return parts[0] + parts[1] if len(parts) > 1 else parts[0]


class ByteDropout(nn.Module):
    """Dropout whose mask comes from random bytes, eight per draw of the generator: PyTorch's
    own CPU dropout draws one number per element (``bernoulli_``), several times slower on a
    training step's small activations. The rate is rounded to a multiple of 1/256
    (0.3 drops 77/256 = 0.301), and kept values are scaled by the exact keep probability."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {rate}")
        self.threshold = round(rate * 256)
        self.scale = 256.0 / (256 - self.threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        count = x.numel()
        words = torch.empty((count + 7) // 8, dtype=torch.int64, device=x.device)
        noise = words.random_(-(2**63), 2**63 - 1).view(torch.uint8)[:count].view(x.shape)
        return x * ((noise >= self.threshold) * self.scale)


class Block(nn.Module):
    """Pre-norm Transformer block: self-attention with an additive mask, then a GELU MLP.

    Written out (rather than nn.TransformerEncoderLayer) because that layer's inference fast
    path misreads per-head float masks [batch * heads, L, L]: recency biases that differ by
    head gave different answers in eval mode than in training.
    """

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.mlp_norm = nn.LayerNorm(hidden)
        # dropout on the residual branches only: on attention weights and inside the MLP it cost
        # a third of training time on CPU (random masks over [batch, heads, L, L]) for no gain
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))
        self.dropout = ByteDropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [batch, length, hidden]; mask [batch or 1, heads or 1, length, length], added to scores."""
        batch, length, hidden = x.shape
        q, k, v = (
            self.qkv(self.attention_norm(x))
            .view(batch, length, 3, self.heads, hidden // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        attended = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.dropout(self.out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        out: torch.Tensor = x + self.dropout(self.mlp(self.mlp_norm(x)))
        return out


class SequenceEncoder(nn.Module):
    """SASRec-style encoder: item + position + event-kind embeddings, causal self-attention."""

    def __init__(
        self,
        n_items: int,
        n_kinds: int,
        text: torch.Tensor | None,
        max_length: int,
        hidden: int,
        layers: int,
        heads: int,
        dropout: float,
        use_ids: bool,
        attention_window: int | None = None,
        positions: str = "absolute",
    ) -> None:
        super().__init__()
        self.attention_window = attention_window
        self.items = ItemRepresentation(n_items, hidden, text, use_ids)
        if positions not in {"absolute", "alibi", "relative"}:
            raise ValueError(f"positions must be 'absolute', 'alibi' or 'relative', got {positions!r}")
        self.positions = nn.Embedding(max_length, hidden) if positions == "absolute" else None
        if self.positions is not None:
            nn.init.normal_(self.positions.weight, std=0.02)
        self.slopes: torch.Tensor | None
        if positions == "alibi":
            slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])
            self.register_buffer("slopes", slopes, persistent=False)
        else:
            self.slopes = None
        # relative: a learned attention bias per head and distance (how many steps ago), so
        # every position is trained exactly as the last one is used at serving time
        self.relative = nn.Parameter(torch.zeros(heads, max_length)) if positions == "relative" else None
        self.kinds = nn.Embedding(n_kinds + 1, hidden, padding_idx=0)
        nn.init.normal_(self.kinds.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(hidden, heads, dropout) for _ in range(layers))
        self.input_norm = nn.LayerNorm(hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = ByteDropout(dropout)
        self.heads = heads

    def _recency_bias(self, length: int, device: torch.device) -> torch.Tensor | None:
        """[heads, length, length] attention bias by how many steps ago a key happened."""
        if self.slopes is None and self.relative is None:
            return None
        steps = torch.arange(length, device=device)
        distance = (steps[:, None] - steps[None, :]).clamp(min=0)
        if self.relative is not None:
            return self.relative[:, distance.clamp(max=self.relative.shape[1] - 1)]
        assert self.slopes is not None
        return -self.slopes[:, None, None] * distance[None].float()

    def forward(
        self, items: torch.Tensor, kinds: torch.Tensor, table: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states [batch, length, hidden] for left-padded item/kind index sequences."""
        table = self.items.table() if table is None else table
        return self.encode(self.embed(items, kinds, table), self.attention_mask(items))

    def embed(self, items: torch.Tensor, kinds: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """The blocks' input [batch, length, hidden]: item vectors (rows of ``table``, 0 =
        padding) plus event-kind embeddings (and positions when absolute), normalized."""
        length = items.shape[1]
        x = table[items] + self.kinds(kinds)
        if self.positions is not None:
            # right-aligned: the newest item always sits at the last position, even when columns
            # that are padding for the whole batch were cut off
            end = self.positions.num_embeddings
            x = x + self.positions(torch.arange(end - length, end, device=items.device))[None]
        out: torch.Tensor = self.dropout(self.input_norm(x))
        return out

    def attention_mask(self, items: torch.Tensor) -> torch.Tensor:
        """The additive mask [batch, heads or 1, length, length]: causal, padding blocked (a
        padded position sees itself, so no row is all-blocked), plus the recency bias."""
        length = items.shape[1]
        padding = items == 0
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=items.device), 1)
        if self.attention_window is not None:  # each position sees only its recent items
            causal |= torch.tril(torch.ones_like(causal), -self.attention_window)
        blocked = causal[None] | padding[:, None, :]
        blocked = blocked & ~torch.eye(length, dtype=torch.bool, device=items.device)[None]
        mask = torch.zeros(blocked.shape, device=items.device).masked_fill(blocked, -1e9)
        mask = mask[:, None]  # [batch, 1, length, length]: the same for every head
        bias = self._recency_bias(length, items.device)
        return mask + bias[None] if bias is not None else mask

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden states [batch, length, hidden] from :meth:`embed`'s output and the mask."""
        for block in self.blocks:
            x = block(x, mask)
        hidden: torch.Tensor = self.norm(x)
        return hidden

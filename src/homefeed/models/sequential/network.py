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

    def table(self) -> torch.Tensor:
        """[n_items + 1, hidden]: every item's vector (row 0 = padding)."""
        parts = []
        if self.ids is not None:
            parts.append(self.ids.weight)
        if self.text is not None:
            projected = self.projection(self.text) * torch.sigmoid(self.gate) * 2.0
            projected = torch.cat([torch.zeros_like(projected[:1]), projected[1:]])
            parts.append(projected)
        return torch.stack(parts).sum(0) if len(parts) > 1 else parts[0]


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
        if positions not in {"absolute", "alibi"}:
            raise ValueError(f"positions must be 'absolute' or 'alibi', got {positions!r}")
        self.positions = nn.Embedding(max_length, hidden) if positions == "absolute" else None
        if self.positions is not None:
            nn.init.normal_(self.positions.weight, std=0.02)
        self.slopes: torch.Tensor | None
        if positions == "alibi":
            slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])
            self.register_buffer("slopes", slopes, persistent=False)
        else:
            self.slopes = None
        self.kinds = nn.Embedding(n_kinds + 1, hidden, padding_idx=0)
        nn.init.normal_(self.kinds.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, hidden * 4, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.input_norm = nn.LayerNorm(hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.heads = heads

    def forward(
        self, items: torch.Tensor, kinds: torch.Tensor, table: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states [batch, length, hidden] for left-padded item/kind index sequences."""
        table = self.items.table() if table is None else table
        length = items.shape[1]
        x = table[items] + self.kinds(kinds)
        if self.positions is not None:
            # right-aligned: the newest item always sits at the last position, even when columns
            # that are padding for the whole batch were cut off
            end = self.positions.num_embeddings
            x = x + self.positions(torch.arange(end - length, end, device=items.device))[None]
        x = self.dropout(self.input_norm(x))
        padding = items == 0
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=items.device), 1)
        if self.attention_window is not None:  # each position sees only its recent items
            causal |= torch.tril(torch.ones_like(causal), -self.attention_window)
        blocked = causal[None] | padding[:, None, :]
        blocked = (
            blocked & ~torch.eye(length, dtype=torch.bool, device=items.device)[None]
        )  # never all-blocked
        mask = torch.zeros(blocked.shape, dtype=x.dtype, device=items.device).masked_fill(blocked, -1e9)
        mask = mask.repeat_interleave(self.heads, dim=0)
        if self.slopes is not None:
            # ALiBi: attention to an item decays with how many steps ago it happened, the same
            # for every position, so training on all positions matches scoring at the last one
            steps = torch.arange(length, device=items.device)
            distance = (steps[:, None] - steps[None, :]).clamp(min=0).to(x.dtype)
            bias = -self.slopes[:, None, None] * distance[None]
            mask = mask + bias.repeat(items.shape[0], 1, 1)
        hidden: torch.Tensor = self.norm(self.encoder(x, mask=mask))
        return hidden

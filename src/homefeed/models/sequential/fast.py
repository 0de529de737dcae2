"""The trained encoder run by ONNX Runtime: the serving path for user vectors.

A homepage encodes one sequence of at most ``max_length`` items. Through PyTorch that is about
forty small operators, each paying eager dispatch; the same graph exported to ONNX and run on
one ONNX Runtime thread does without it, several times faster (docs/benchmarks.md).
Only the blocks and the input are exported. The attention mask of a left-padded sequence
depends only on how many items it holds, so the ``max_length + 1`` masks are computed once, by
the network's own :meth:`~SequenceEncoder.attention_mask`. The item table is an input, so
items added after training (``add_items``) need no new export.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from homefeed.models.sequential.network import SequenceEncoder


class _LastState(nn.Module):
    """What is exported: the encoder's last hidden state from items, kinds, table and mask."""

    def __init__(self, network: SequenceEncoder) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, items: torch.Tensor, kinds: torch.Tensor, table: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.network.encode(self.network.embed(items, kinds, table), mask)
        return hidden[:, -1]


class OnnxSequenceEncoder:
    """Last hidden states of left-padded sequences of exactly ``length`` columns, through
    ONNX Runtime on one thread (a request is one sequence: more threads would only wait)."""

    def __init__(self, network: SequenceEncoder, length: int) -> None:
        import onnxruntime

        self.length = length
        was_training = network.training
        network.eval()
        try:
            with torch.no_grad():
                counts = torch.arange(length + 1)
                columns = torch.arange(length)
                # row c holds c items, right-aligned (any non-zero index marks an item)
                filled = (columns[None, :] >= length - counts[:, None]).long()
                self._masks = network.attention_mask(filled).numpy()
            model = self._export(network, filled[-1:], self._masks[-1:])
        finally:
            network.train(was_training)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def _export(self, network: SequenceEncoder, items: torch.Tensor, mask: np.ndarray) -> bytes:
        table = network.items.table().detach()
        with (
            tempfile.TemporaryDirectory(prefix="homefeed-sequential-") as folder,
            warnings.catch_warnings(),  # the tracer's notes on shape arithmetic are expected
        ):
            warnings.simplefilter("ignore")
            path = Path(folder) / "encoder.onnx"
            torch.onnx.export(
                _LastState(network),
                (items, torch.ones_like(items), table, torch.from_numpy(mask)),
                path,
                input_names=["items", "kinds", "table", "mask"],
                output_names=["state"],
                dynamic_axes={
                    "items": {0: "batch"},
                    "kinds": {0: "batch"},
                    "table": {0: "rows"},
                    "mask": {0: "batch"},
                    "state": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
            return path.read_bytes()

    def last_states(self, items: np.ndarray, kinds: np.ndarray, table: np.ndarray) -> np.ndarray:
        """[batch, hidden] for ``items`` and ``kinds`` [batch, length] (int64, 0 = padding on
        the left) over the item ``table`` [rows, hidden] (row 0 = padding)."""
        counts = np.count_nonzero(items, axis=1)
        inputs = {"items": items, "kinds": kinds, "table": table, "mask": self._masks[counts]}
        states: np.ndarray = self._session.run(None, inputs)[0]
        return states

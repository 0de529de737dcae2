"""The Transformer user model on sequences with a planted next-item rule."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from homefeed.config import SequentialSettings
from homefeed.models.base import Validation, top_k
from homefeed.models.data import Interactions
from homefeed.models.popularity import PopularityRecommender
from homefeed.models.sequential import SequentialRecommender
from homefeed.models.sequential.model import SequentialConfig
from homefeed.models.sequential.network import ByteDropout, SequenceEncoder

TOPICS, PER_TOPIC = 4, 10
SMALL = {"hidden": 32, "layers": 1, "heads": 2, "dropout": 0.1, "max_length": 20, "epochs": 40,
         "patience": 10, "batch_size": 32, "learning_rate": 3e-3, "seed": 0}  # fmt: skip


def _topic(item: int) -> int:
    return item // PER_TOPIC


def _cycles(n_users: int = 160, length: int = 16, seed: int = 0) -> tuple[Interactions, np.ndarray]:
    """Every user moves through topics 0 → 1 → 2 → 3 → 0 …, picking a random unseen item each time.
    Item text vectors are the topic one-hot plus noise (a stand-in for real embeddings)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        topic, seen = int(rng.integers(TOPICS)), set()
        for step in range(length):
            choices = [i for i in range(topic * PER_TOPIC, (topic + 1) * PER_TOPIC) if i not in seen]
            item = int(rng.choice(choices))
            seen.add(item)
            rows.append((f"u{user:03d}", f"i{item:03d}", "click", float(step)))
            topic = (topic + 1) % TOPICS
    catalog = [f"i{i:03d}" for i in range(TOPICS * PER_TOPIC + 1)]  # the last item is never used
    data = Interactions.from_rows(rows, {"click": 1.0}, catalog)
    text = np.eye(TOPICS)[[min(i // PER_TOPIC, TOPICS - 1) for i in range(len(catalog))]]
    text = (text + rng.normal(0, 0.05, text.shape)).astype(np.float32)
    return data, text


def _next_topic_hits(model: object, histories: list[np.ndarray], k: int = 5) -> float:
    """Share of the top ``k`` (unseen items) that belong to the topic that comes next."""
    scores = np.array(model.score_histories(histories), dtype=float)  # type: ignore[attr-defined]
    hits = []
    for row, history in enumerate(histories):
        scores[row, history] = -np.inf
        want = (_topic(int(history[-1])) + 1) % TOPICS
        top = top_k(scores[row][None, :], k)[0][0]
        hits.append(np.mean([_topic(int(i)) == want for i in top]))
    return float(np.mean(hits))


@pytest.mark.slow
def test_learns_the_planted_topic_cycle_far_above_popularity(tmp_path: Path) -> None:
    data, text = _cycles()
    data.item_text = text
    validation = Validation(
        [s[:-1] for s, _ in data.sequences()[:20]], [{int(s[-1])} for s, _ in data.sequences()[:20]]
    )
    model = SequentialRecommender(**SMALL).fit(data, validation)
    fresh, _ = _cycles(n_users=40, seed=1)  # new users, same rule
    histories = [seq for seq, _ in fresh.sequences()]
    model_share = _next_topic_hits(model, histories)
    popular = PopularityRecommender(half_life_days=None).fit(data)
    popular_share = _next_topic_hits(popular, histories)
    # share of the top 5 that belongs to the topic that comes next: chance is 1/4
    assert model_share > 0.85, model_share
    assert popular_share < 0.4, popular_share
    assert model.history and "valid_ndcg@10" in model.history[0]

    model.save(tmp_path / "sequential")
    loaded = SequentialRecommender.load(tmp_path / "sequential")
    np.testing.assert_allclose(
        loaded.score_histories(histories[:5]), model.score_histories(histories[:5]), atol=1e-5
    )
    assert (tmp_path / "sequential" / "model.safetensors").exists()


@pytest.mark.slow
def test_an_item_added_after_training_is_retrieved_from_its_text() -> None:
    data, text = _cycles()
    data.item_text = text
    model = SequentialRecommender(**SMALL).fit(data)
    new_vector = np.zeros((1, TOPICS), dtype=np.float32)
    new_vector[0, 2] = 1.0  # a brand-new item of topic 2
    model.add_items(["brand-new"], new_vector)
    assert model.item_ids[-1] == "brand-new"
    index = model.item_index("brand-new")
    # users whose last item is of topic 1 go to topic 2 next: the new item ranks among topic-2 items
    history = np.array([0, 10, 20, 30, 1, 11], dtype=np.int64)  # ... last item topic 1
    scores = model.score_histories([history])[0]
    scores[history] = -np.inf
    top = top_k(scores[None, :], PER_TOPIC)[0][0].tolist()
    assert index in top  # topic 2 has 9 unseen items besides the new one
    other = np.array([0, 10, 20, 30, 1, 11, 21], dtype=np.int64)  # last topic 2: next is topic 3
    scores = model.score_histories([other])[0]
    scores[other] = -np.inf
    assert index not in top_k(scores[None, :], 5)[0][0].tolist()


def test_every_validation_encodes_with_the_item_vectors_of_that_epoch() -> None:
    """Validation once encoded histories with item vectors cached one epoch earlier, so early
    stopping compared epochs on a mismatched model (a bug fixed at stop 16)."""
    data, text = _cycles(n_users=40, length=8)
    data.item_text = text
    validation = Validation(
        [s[:-1] for s, _ in data.sequences()[:10]], [{int(s[-1])} for s, _ in data.sequences()[:10]]
    )
    model = SequentialRecommender(**{**SMALL, "epochs": 4, "validate_after": 0})
    encode = model.encode_histories
    seen_by_validation: list[np.ndarray] = []
    mismatches: list[float] = []

    def recording(*args: Any, **kwargs: Any) -> np.ndarray:
        seen_by_validation.append(encode(*args, **kwargs))
        return seen_by_validation[-1]

    def check(_epoch: int, _loss: float, _score: float | None) -> None:
        assert model.network is not None
        model._table = None  # nothing cached: this epoch's weights alone
        model.network.eval()
        fresh = encode(validation.histories)
        model.network.train()
        mismatches.append(float(np.abs(fresh - seen_by_validation[-1]).max()))

    model.encode_histories = recording  # type: ignore[method-assign]
    model.on_epoch = check
    model.fit(data, validation)
    assert len(mismatches) == 4
    assert max(mismatches) < 1e-5, mismatches


def test_id_only_and_text_only_variants_train() -> None:
    data, text = _cycles(n_users=40, length=8)
    quick = {**SMALL, "epochs": 2}
    SequentialRecommender(**quick, use_text=False).fit(data)
    data.item_text = text
    SequentialRecommender(**quick, use_ids=False).fit(data)
    data.item_text = None
    with pytest.raises(ValueError, match="text-only"):
        SequentialRecommender(**quick, use_ids=False).fit(data)


def test_training_leaves_items_already_in_the_sequence_out_of_each_softmax() -> None:
    model = SequentialRecommender()
    model.network = SequenceEncoder(
        n_items=6, n_kinds=1, text=None, max_length=5, hidden=8, layers=1, heads=1, dropout=0.0, use_ids=True
    )
    inputs = torch.tensor([[0, 1, 2, 3], [4, 5, 4, 6]])  # 0 is padding; user 2 repeats item 4
    targets = torch.tensor([[1, 2, 3, 4], [5, 4, 6, 1]])
    seen = model._seen_before(inputs, targets, targets > 0, 7)
    expected = [set(), {1}, {1, 2}, {1, 2, 3}, {4}, {5}, {4, 5}, {4, 5, 6}]  # a repeated target stays
    assert [{int(i) + 1 for i in row.nonzero()} for row in seen] == expected


def test_masking_seen_items_outside_autograd_leaves_the_loss_gradients_unchanged() -> None:
    """Training fills seen items' logits with -inf under no_grad: the tie loss's gradient there
    is 0 anyway, so the weights get exactly the gradients of the masked fill inside autograd."""
    inputs = torch.tensor([[0, 1, 2, 3], [4, 5, 4, 6]])
    targets = torch.tensor([[1, 2, 3, 4], [5, 4, 6, 1]])
    ties = torch.tensor([[0, 1, 1, 2], [0, 0, 1, 2]])
    mask = targets > 0
    seen = SequentialRecommender._seen_before(inputs, targets, mask, 7)
    hidden = torch.randn(int(mask.sum()), 5, generator=torch.Generator().manual_seed(0))
    gradients = []
    for outside in (False, True):
        table = torch.randn(6, 5, generator=torch.Generator().manual_seed(1)).requires_grad_()
        logits = hidden @ table.T
        if outside:
            with torch.no_grad():
                logits.masked_fill_(seen, float("-inf"))
        else:
            logits = logits.masked_fill(seen, float("-inf"))
        SequentialRecommender._tie_loss(logits, targets, ties, mask).backward()  # type: ignore[no-untyped-call]
        gradients.append(table.grad)
    assert gradients[0] is not None and gradients[1] is not None
    assert torch.equal(gradients[0], gradients[1])


def test_byte_dropout_drops_its_rate_and_keeps_the_expected_value() -> None:
    torch.manual_seed(0)
    layer = ByteDropout(0.3)
    x = torch.ones(200_000)
    out = layer(x)
    assert abs(float((out == 0).float().mean()) - 77 / 256) < 0.005  # 0.3 rounds to 77/256
    assert abs(float(out.mean()) - 1.0) < 0.01  # kept values are scaled up by 256 / 179
    assert torch.unique(out).tolist() == pytest.approx([0.0, 256 / 179])
    torch.manual_seed(0)
    assert torch.equal(layer(x), out)  # the same seed, the same mask
    layer.eval()
    assert layer(x) is x
    assert ByteDropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="dropout"):
        ByteDropout(1.0)


def test_the_model_defaults_are_the_configured_recipe() -> None:
    """SequentialConfig (library use) and SequentialSettings (the engine) must not drift apart."""
    configured = SequentialSettings().model_dump()
    defaults = asdict(SequentialConfig())
    assert {key: defaults[key] for key in configured} == configured


def _trained_targets(inputs: torch.Tensor, targets: torch.Tensor) -> list[tuple[int, int]]:
    """(target item, items of context before it in its window) for every trained position."""
    found = []
    for row_inputs, row_targets in zip(inputs.tolist(), targets.tolist(), strict=True):
        for position, target in enumerate(row_targets):
            if target:
                found.append((target - 1, sum(1 for item in row_inputs[: position + 1] if item)))
    return found


def test_shifted_windows_train_every_event_once_with_a_new_context_each_epoch() -> None:
    """shift_windows: the windows older than the newest start at a random point each epoch;
    every next item stays a target exactly once, the newest window is always the latest
    max_length items, and a target's context changes between epochs."""
    model = SequentialRecommender(max_length=10)
    items, kinds = [np.arange(47), np.arange(100, 106)], [np.ones(47, np.int64), np.ones(6, np.int64)]
    rng = np.random.default_rng(0)
    contexts: dict[int, set[int]] = {}
    for _ in range(30):
        inputs, targets, _, _ = model._windows(items, kinds, None, rng)
        trained = _trained_targets(inputs, targets)
        assert sorted(target for target, _ in trained) == [*range(1, 47), *range(101, 106)]
        assert inputs[0].tolist() == list(range(37, 47)) and targets[0].tolist() == list(range(38, 48))
        assert int((targets > 0).sum(dim=1).min()) >= 1  # no window without a target
        for target, context in trained:
            contexts.setdefault(target, set()).add(context)
    assert all(len(contexts[target]) == 1 for target in range(37, 47))  # the newest window is fixed
    assert all(len(contexts[target]) >= 5 for target in range(11, 36))  # older ones move
    assert contexts[103] == {3}  # a history shorter than a window is one window
    fixed = SequentialRecommender(max_length=10, shift_windows=False)
    inputs, targets, _, _ = fixed._windows(items, kinds, None, rng)
    assert [row[-1] for row in inputs.tolist()][:5] == [46, 36, 26, 16, 6]  # every 10 from the end
    overlapping = SequentialRecommender(max_length=10, stride=5)  # overlaps: never shifted
    inputs, targets, _, _ = overlapping._windows(items, kinds, None, rng)
    assert [row[-1] for row in inputs.tolist()][:3] == [46, 41, 36]


def test_events_of_one_tie_are_reshuffled_and_ties_keep_their_time_order() -> None:
    """tie_seconds: events logged within the same second have no known order, so each epoch
    draws a new order inside every tie, and never moves an event across ties."""
    model = SequentialRecommender(tie_seconds=1.0)
    times = [0.0, 5.0, 5.2, 5.9, 9.0, 12.0, 12.5]
    log = Interactions.from_rows([("u", f"i{n}", "click", t) for n, t in enumerate(times)], {"click": 1.0})
    (ties,) = model._tie_groups(log) or []
    assert ties.tolist() == [0, 5, 5, 5, 9, 12, 12]
    items, kinds = [np.arange(7)], [np.arange(7) + 10]
    rng = np.random.default_rng(0)
    orders = set()
    for _ in range(200):
        (shuffled,), (shuffled_kinds,) = model._shuffle_ties(items, kinds, [ties], rng)
        assert shuffled[0] == 0 and shuffled[4] == 4  # single-event ties stay put
        assert sorted(shuffled[1:4].tolist()) == [1, 2, 3] and sorted(shuffled[5:].tolist()) == [5, 6]
        assert (shuffled_kinds == shuffled + 10).all()  # each event keeps its kind
        orders.add(tuple(shuffled.tolist()))
    assert len(orders) == 12  # all 3! x 2! orders were drawn
    assert SequentialRecommender(tie_seconds=None)._tie_groups(log) is None  # off: logged order


def test_training_with_tie_shuffling_still_learns_the_cycle() -> None:
    data, text = _cycles()
    data.item_text = text
    model = SequentialRecommender(**{**SMALL, "tie_seconds": 1.0, "tie_targets": True}).fit(data)
    histories = [items for items, _ in data.sequences()][:40]
    assert _next_topic_hits(model, histories) > 0.8


def test_tie_targets_average_the_cross_entropy_over_the_rest_of_the_tie() -> None:
    """Targets y = [5, 7, 9] where 7 and 9 share a tie: the position targeting 7 is trained
    towards 7 and 9 alike; the others as plain cross-entropy."""
    torch.manual_seed(0)
    y = torch.tensor([[5, 7, 9]])
    ties = torch.tensor([[1, 2, 2]])
    mask = y > 0
    logits = torch.randn(3, 10)
    log_p = torch.log_softmax(logits, dim=-1)
    expected = -(log_p[0, 4] + (log_p[1, 6] + log_p[1, 8]) / 2 + log_p[2, 8]) / 3
    loss = SequentialRecommender._tie_loss(logits, y, ties, mask)
    assert torch.isclose(loss, expected)
    untied = SequentialRecommender._tie_loss(logits, y, torch.tensor([[1, 2, 3]]), mask)
    assert torch.isclose(untied, torch.nn.functional.cross_entropy(logits, y[mask] - 1))


def test_above_the_size_limit_training_uses_sampled_softmax_and_still_learns_the_cycle() -> None:
    """sampled_above=10 forces sampled softmax on the 41-item catalog: each batch scores its
    own items plus 8 drawn negatives, renumbered, with log-Q corrected logits."""
    data, text = _cycles()
    data.item_text = text
    model = SequentialRecommender(**{**SMALL, "sampled_above": 10, "negatives": 8})
    model.fit(data)
    assert model._sampling is not None and float(model._sampling.sum()) == pytest.approx(1.0)
    assert float(model._sampling[-1]) == pytest.approx(0.1 / 41)  # never picked: the uniform tenth
    histories = [items for items, _ in data.sequences()][:40]
    assert _next_topic_hits(model, histories) > 0.8
    x, y = torch.tensor([[0, 3, 9]]), torch.tensor([[3, 9, 12]])
    x_local, _, table, log_q = model._sampled_vocabulary(x, y, model._sampling)
    assert len(table) - 1 == len(log_q) <= 3 + 1 + 8 and int(x_local[0, 0]) == 0
    rows = model.network.items.rows(torch.tensor([3, 9]))  # type: ignore[union-attr]
    assert torch.allclose(rows, table[x_local[0, 1:]], atol=1e-6)
    assert SequentialRecommender(**SMALL).fit(data)._sampling is None  # small catalogs: full softmax


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"positions": "absolute", "use_text": False},
        {"positions": "alibi", "attention_window": 3, "use_ids": False},
    ],
    ids=["relative, ids + text", "absolute, ids only", "alibi window, text only"],
)
def test_user_vectors_through_onnx_runtime_equal_pytorchs(options: dict[str, Any], tmp_path: Path) -> None:
    data, text = _cycles(n_users=40)
    data.item_text = text
    weights = np.where(np.arange(len(data.weights)) % 3 == 0, 2.0, 1.0)  # two event kinds
    data = dataclasses.replace(data, weights=weights)
    fast = SequentialRecommender(**{**SMALL, "epochs": 2, **options}).fit(data)
    assert fast.encoder_in_use == "onnx"  # the export worked: the comparison is not torch to torch
    fast.save(tmp_path / "sequential")
    slow = SequentialRecommender.load(tmp_path / "sequential")
    assert slow.encoder_in_use == "onnx"  # a loaded model exports too
    slow.set_inference("torch")
    assert slow.encoder_in_use == "torch"
    rng = np.random.default_rng(0)
    histories = [rng.integers(0, data.n_items, size=size) for size in (1, 5, 19, 20, 60)]
    kinds = [rng.integers(1, 3, size=len(history)) for history in histories]
    np.testing.assert_allclose(
        fast.encode_histories(histories, kinds), slow.encode_histories(histories, kinds), atol=1e-5
    )
    for history, kind in zip(histories, kinds, strict=True):  # one request at a time, as served
        np.testing.assert_allclose(
            fast.encode_histories([history], [kind]), slow.encode_histories([history], [kind]), atol=1e-5
        )
    new_text = np.eye(TOPICS, dtype=np.float32)[[2]]
    for model in (fast, slow):  # items added after training change the table, not the export
        model.add_items(["brand-new"], new_text)
    with_new = [np.array([3, 13, data.n_items])]
    np.testing.assert_allclose(fast.score_histories(with_new), slow.score_histories(with_new), atol=1e-5)
    with pytest.raises(ValueError, match="inference must be"):
        SequentialRecommender(inference="tensorrt")
    with pytest.raises(ValueError, match="inference must be"):
        fast.set_inference("tensorrt")


def test_a_failed_export_leaves_the_model_encoding_with_pytorch(monkeypatch: pytest.MonkeyPatch) -> None:
    import homefeed.models.sequential.model as sequential_module

    def broken(*_args: object) -> None:
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(sequential_module, "OnnxSequenceEncoder", broken)
    data, text = _cycles(n_users=20)
    data.item_text = text
    model = SequentialRecommender(**{**SMALL, "epochs": 1}).fit(data)
    assert model.encoder_in_use == "torch"
    histories = [seq for seq, _ in data.sequences()[:3]]
    assert np.isfinite(model.score_histories(histories)).all()


def test_training_uses_fused_adamw_with_the_same_updates() -> None:
    """The fused AdamW kernel (5x faster per step on CPU) applies the update of the default one."""
    from homefeed.models.sequential.model import _adamw

    torch.manual_seed(0)
    fused_net, plain_net = torch.nn.Linear(8, 4), torch.nn.Linear(8, 4)
    plain_net.load_state_dict(fused_net.state_dict())
    initial = fused_net.weight.detach().clone()
    fused = _adamw(fused_net, 1e-2, 0.01)
    plain = torch.optim.AdamW(plain_net.parameters(), lr=1e-2, weight_decay=0.01, foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(50):
        x = torch.randn(16, 8)
        for net, optimizer in ((fused_net, fused), (plain_net, plain)):
            optimizer.zero_grad()
            net(x).pow(2).mean().backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    assert not torch.allclose(fused_net.weight, initial, atol=1e-2)  # fifty steps moved it
    for after, expected in zip(fused_net.parameters(), plain_net.parameters(), strict=True):
        assert torch.allclose(after, expected, atol=1e-6)


def test_a_training_budget_stops_within_the_first_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``max_seconds`` is checked after every batch: a budget already spent after the first
    batch ends training there, a model that still scores every item."""
    data, _ = _cycles()
    steps: list[int] = []
    clip = torch.nn.utils.clip_grad_norm_

    def counted(*args: Any, **kwargs: Any) -> torch.Tensor:
        steps.append(1)
        return clip(*args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", counted)  # once per training step
    model = SequentialRecommender(
        hidden=16, layers=1, max_length=8, epochs=50, batch_size=8, use_text=False, max_seconds=1e-9
    ).fit(data)
    assert len(model.history) == 1 and len(steps) == 1  # one step of one epoch (of 20 batches)
    assert np.isfinite(model.score_users(np.array([0]))).all()

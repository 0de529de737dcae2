"""Other languages through the real text path: a sentence-transformers model named by path
(as a multilingual model is set), Chinese and French items and stated interests.

The model is built here, small and offline: a BERT whose vocabulary holds the test's Chinese
characters and French words, with attention and feed-forward outputs zeroed so that it reads
a text as the mean of its tokens' embeddings (random, near-orthogonal in 64 dimensions). Texts
that share words are near; what the test checks is that every step of the path (tokenising
Chinese by character, loading, pooling, both backends, the interests parser, the text index)
carries that through."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.encoders.base import item_text
from homefeed.encoders.loading import configured_encoder
from homefeed.understanding.semantic import SemanticSpace

pytestmark = pytest.mark.tiny_model

ITEMS = {
    "jazz": ["爵士乐现场", "钢琴与萨克斯爵士乐", "Soirée jazz au piano", "Le jazz de la nuit"],
    "football": ["足球比赛", "联赛进球", "Le match de football", "Football : la finale"],
    "cooking": ["烹饪面条", "饺子汤的做法", "La recette de cuisine", "Cuisine de la mer"],
}


def _build_model(folder: Path) -> Path:
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    text = " ".join([*(title for titles in ITEMS.values() for title in titles), "我喜欢不要讨厌"])
    characters = sorted({c for c in text if not c.isascii() and c.isalpha()})
    words = sorted({w.lower() for w in text.split() if w.isascii() and w.isalpha()})
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters, *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocabulary)})
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    bert = BertModel(config)
    with torch.no_grad():  # a bag of tokens: no positions, no mixing, special tokens silent
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
        bert.embeddings.word_embeddings.weight[:5].zero_()
        for layer in bert.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
    raw = folder / "bert"
    bert.save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    modules = [
        models.Transformer(str(raw), max_seq_length=64),
        models.Pooling(64, "mean"),
        models.Normalize(),
    ]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder / "model"))
    return folder / "model"


@pytest.fixture(scope="module")
def multilingual_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_model(tmp_path_factory.mktemp("multilingual"))


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return [
        Item(id=f"{topic}-{n}", title=title, category=topic)
        for topic, titles in ITEMS.items()
        for n, title in enumerate(titles)
    ]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_chinese_and_french_interests_find_their_items(
    multilingual_model: Path, items: list[Item], backend: str, tmp_path: Path
) -> None:
    settings = Settings(
        text_model=str(multilingual_model),
        text_backend=backend,
        encoder_cache_dir=tmp_path / "onnx",
        item_text_template="{title}",
    )
    space = SemanticSpace.build(items, configured_encoder(settings), template=settings.item_text_template)

    def topics(text: str) -> list[str]:
        return [hit.item_id.split("-")[0] for hit in space.by_interests(text, 4, lambda _: True, set())]

    assert topics("我喜欢爵士乐，不喜欢足球")[:2] == ["jazz", "jazz"]
    assert {item.split("-")[0] for item in space.avoided("我喜欢爵士乐，不喜欢足球")} == {"football"}
    assert topics("J'aime la cuisine, pas de football")[:2] == ["cooking", "cooking"]
    assert {item.split("-")[0] for item in space.avoided("J'aime la cuisine, pas de football")} == {
        "football"
    }
    similar = space.similar("jazz-0", 1, lambda _: True)  # 爵士乐现场 -> 钢琴与萨克斯爵士乐
    assert similar[0].item_id == "jazz-1"


def test_templates_keep_non_english_fields_whole() -> None:
    item = Item(id="1", title="饺子汤的做法", category="烹饪", tags=["面条", "汤"], text="")
    assert item_text(item) == "饺子汤的做法. 烹饪. 面条, 汤"
    french = Item(id="2", title="La recette de cuisine", category="Cuisine", text="Une soirée à Paris.")
    assert item_text(french, "{title}. {text}") == "La recette de cuisine. Une soirée à Paris."


def test_a_model_found_nowhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a folder, not cached, no download possible (offline here): the error says what to do."""
    import huggingface_hub.constants

    from homefeed.encoders.sentence import SentenceTransformerEncoder
    from homefeed.errors import ConfigurationError

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no retries: fail fast
    with pytest.raises(ConfigurationError, match="HOMEFEED_TEXT_MODEL=DIR") as raised:
        SentenceTransformerEncoder("paraphrase-multilingual-MiniLM-L12-v2")
    assert "huggingface-cli download sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2" in str(
        raised.value
    )

"""A CLIP-architecture model with random weights, built and saved locally: the image path's
tests and its benchmark load it through the product's own code, as an operator's downloaded
folder would be (no CLIP weights are on this machine, and nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_clip(folder: Path) -> Path:
    """A CLIP with one small layer per tower, a byte-level vocabulary without merges and
    32-pixel pictures, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    letters = list(bytes_to_unicode().values())
    vocabulary = {token: index for index, token in enumerate([*letters, *(f"{c}</w>" for c in letters)])}
    start, end = len(vocabulary), len(vocabulary) + 1
    vocabulary |= {"<|startoftext|>": start, "<|endoftext|>": end}
    tokenizer = CLIPTokenizer(vocab=vocabulary, merges=[])
    pictures = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    torch.manual_seed(0)
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    text = {"vocab_size": len(vocabulary), "bos_token_id": start, "eos_token_id": end, "pad_token_id": end}
    config = CLIPConfig(
        text_config={**tower, **text, "max_position_embeddings": 77},
        vision_config={**tower, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    raw = folder / "raw"
    CLIPModel(config).save_pretrained(raw)
    CLIPProcessor(image_processor=pictures, tokenizer=tokenizer).save_pretrained(raw)
    SentenceTransformer(str(raw), device="cpu").save(str(folder / "tiny-clip"))
    return folder / "tiny-clip"

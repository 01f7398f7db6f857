"""Translation speed and memory: argostranslate's own path vs raw CTranslate2 vs publisher's engine.

Builds (outside the repository, once) a random-weight model of the real argos zh->en shape:
Transformer 6+6 layers, d_model 512, 8 heads, FFN 2048, a 65,000-piece shared vocabulary,
int8. Random weights never emit end-of-sentence, so every engine gets the same decoding cap.
On the same ~200 Chinese sentences at beam 4 it measures, each engine in its own subprocess
(so that peak RSS is its own):

  (a) argostranslate 1.11's translate path (``argostranslate.translate``) through publisher's
      ``argos`` engine (publisher.translate.argostranslate_engine: its sentence splitter replaced
      by publisher's sentences so that it runs offline), the decoding cap added to its
      ``translate_batch`` calls;
  (b) raw CTranslate2: a sweep of thread/batch settings, the best one reported;
  (c) publisher's engine (``ArgosTranslator.translate_sentences``) with its default settings;

and prints sentences per second, peak RSS, the ratios c/a and c/b, the share of outputs
identical between a and c, and the peak RSS and time of ``publisher translate`` on the seed
with this model. Targets: c/a >= 3.5 with >= 95% identical outputs, c/b >= 0.9, peak RSS of
``publisher translate`` <= 500 MB.

    python benchmarks/translate.py [--work DIR] [--cap 64] [--beam 4] [--quick]

Document mode (``--document``): real article paragraphs written for it (benchmarks/corpus/*.md:
numbers, dates, Latin names, links, images, code, emphasis), copied ``--copies`` times with
their numbers changed so that no sentence repeats, through the whole ``publisher translate``
path (``translate_files``: read, split, protect, translate, verify, fall back, write the .en.md
files), against raw CTranslate2 on the same model inputs in the same run, with the same model
and decoding cap. Two runs of the document path:

  (r) the random-weight model as it is: it drops every placeholder, so its fallback rate is
      the worst case;
  (e) the same model run for its time, its outputs then replaced by an *echo* that keeps the
      placeholders, names and numbers (tests/fake_openai.py's ``fake_english``): a stand-in for
      a model that keeps them, to measure the path's own cost. Target: (e) >= 0.8 x raw.

It also prints how many of the corpus's reference translations (correct English written by
hand, benchmarks/corpus/reference.json) the verifier would send to the fallback.

    python benchmarks/translate.py --document [--copies 10] [--cap 64] [--beam 4] [--repeat 3] [--modes echo]
"""

from __future__ import annotations

import os
import sys

# This folder holds queue.py (the queue benchmark the outbox issue asks for); as the script's
# folder it would shadow the standard library's queue module, which urllib3 imports.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_effdbda2e4cb0846.txt"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "publisher-bench-translate"


# --- the 200 sentences ---------------------------------------------------------------------

_CLAUSES = [
    "快手推出的文生视频大模型可灵引发了全球网友的关注", "很多用户在社交媒体上分享了自己生成的视频",
    "研究人员认为这项技术还有很大的改进空间", "这个模型可以生成最长两分钟的高清视频", "生成的画面非常自然流畅",
    "开发者们纷纷申请了测试资格", "海外的人工智能圈对此反应强烈", "不少创作者表示效果超出了预期",
    "该公司计划在下个月开放更多功能", "视频中人物的动作和表情都十分逼真", "与此前的模型相比生成速度提高了一倍",
    "业内人士指出数据质量是关键", "这一产品已经吸引了大量投资", "团队花费近两周时间完成了这条短片",
    "气球的颜色在每次生成中都会改变", "镜头中偶尔会出现一些瑕疵", "用户只需要输入一段文字描述",
    "系统会自动生成对应的视频内容", "在相同的提示词下效果更加生动真实", "这对于整个行业来说是一个重要的信号",
    "专家建议监管机构尽快出台相关规定", "越来越多的企业开始布局这一领域", "这款应用目前仍处于测试阶段",
    "官方表示将持续优化模型的表现", "网友们在评论区展开了激烈的讨论", "不少人担心这项技术会被滥用",
    "教育和娱乐行业可能最先受益", "模型的训练成本依然很高", "开源社区也推出了类似的项目", "这项研究发表在国际顶级会议上",
]


def bench_sentences(n: int = 200, seed: int = 3) -> list[str]:
    """The seed article's sentences, then generated news-like sentences of 1-4 clauses."""
    sys.path.insert(0, str(ROOT))
    from publisher.articles.read import read_article
    from publisher.translate.splitter import has_han, split_sentences

    article = read_article(SEED)
    sentences = [s for b in article.blocks if b.is_content or b.kind == "credit"
                 for line in b.text.split("\n") for s in split_sentences(line) if has_han(s)]
    rng = random.Random(seed)
    while len(sentences) < n:
        k = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        sentences.append("，".join(rng.sample(_CLAUSES, k)) + rng.choice(["。", "。", "。", "！", "？"]))
    return sentences[:n]


# --- the model -----------------------------------------------------------------------------


def build_model(work: Path, rebuild: bool = False) -> Path:
    """The real-shape random package, unzipped into work/packages (built once)."""
    packages = work / "packages"
    existing = [p for p in packages.glob("*/metadata.json")] if packages.exists() else []
    if existing and not rebuild:
        return existing[0].parent
    sys.path.insert(0, str(ROOT / "tests"))
    from tinymodel import REAL_SHAPE, build_argos_package

    print(f"building a random {REAL_SHAPE} model in {work} (once)...", file=sys.stderr)
    t = time.perf_counter()
    archive = build_argos_package(work / "archive", "zh", "en", shape=REAL_SHAPE, version="1.9",
                                  name="translate-zh_en-1_9")
    packages.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(packages)
    print(f"  built {archive.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return packages / "translate-zh_en-1_9"


# --- children: one engine each -------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_argos(package: Path, sentences: list[str], cap: int, beam: int) -> dict:
    """(a) argostranslate's own translate path through publisher's ``argos`` engine (its sentence
    splitter replaced by publisher's sentences so that it runs offline), with the common decoding cap."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import ctranslate2
    from argostranslate import translate  # noqa: F401  (timed: torch, Stanza, spaCy)

    from publisher.translate.argos import DecodingOptions
    from publisher.translate.argostranslate_engine import ArgostranslateTranslator
    from publisher.translate.packages import read_package

    real = ctranslate2.Translator

    class Capped:
        def __init__(self, *args, **kwargs):
            self._t = real(*args, **kwargs)

        def translate_batch(self, *args, **kwargs):
            kwargs["max_decoding_length"] = cap
            return self._t.translate_batch(*args, **kwargs)

    ctranslate2.Translator = Capped
    imported = time.perf_counter() - t0
    translator = ArgostranslateTranslator(read_package(package), DecodingOptions(beam_size=beam))
    translator.translate_sentences(["你好。"])  # loads the model
    t1 = time.perf_counter()
    outputs = translator.translate_sentences(sentences)
    seconds = time.perf_counter() - t1
    return {"seconds": seconds, "import_seconds": imported, "outputs": outputs, "peak_rss_mb": _peak_rss_mb(),
            "heavy": sorted(m for m in ("torch", "stanza", "spacy") if m in sys.modules)}


def child_raw(package: Path, sentences: list[str], cap: int, beam: int, config: dict) -> dict:
    """(b) CTranslate2 driven by hand with one configuration."""
    t0 = time.perf_counter()
    import ctranslate2
    import sentencepiece

    imported = time.perf_counter() - t0
    sp = sentencepiece.SentencePieceProcessor(model_file=str(package / "sentencepiece.model"))
    model = ctranslate2.Translator(str(package / "model"), device="cpu", compute_type=config["compute_type"],
                                   inter_threads=config["inter_threads"], intra_threads=config["intra_threads"])
    options = dict(beam_size=beam, num_hypotheses=1, length_penalty=0.2, replace_unknowns=True,
                   max_decoding_length=cap, max_batch_size=config["max_batch_size"], batch_type=config["batch_type"])
    model.translate_batch([sp.encode("你好。", out_type=str)], **options)
    t1 = time.perf_counter()
    tokens = [sp.encode(s, out_type=str) for s in sentences]
    results = model.translate_batch(tokens, **options)
    outputs = []
    for r in results:
        value = sp.decode_pieces(r.hypotheses[0]).replace("▁", " ").replace("_", " ")
        outputs.append(value[1:] if value.startswith(" ") else value)
    seconds = time.perf_counter() - t1
    return {"seconds": seconds, "import_seconds": imported, "outputs": outputs, "peak_rss_mb": _peak_rss_mb()}


def child_publisher(package: Path, sentences: list[str], cap: int, beam: int) -> dict:
    """(c) publisher's engine with its default settings and the common decoding cap."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from publisher.translate.argos import ArgosTranslator, DecodingOptions
    from publisher.translate.packages import read_package

    imported = time.perf_counter() - t0
    translator = ArgosTranslator(read_package(package), DecodingOptions(beam_size=beam, max_decoding_length=cap))
    translator.translate_sentences(["你好。"])  # loads the model
    t1 = time.perf_counter()
    outputs = translator.translate_sentences(sentences)
    seconds = time.perf_counter() - t1
    return {"seconds": seconds, "import_seconds": imported, "outputs": outputs, "peak_rss_mb": _peak_rss_mb(),
            "options": repr(translator.options),
            "heavy": sorted(m for m in ("torch", "stanza", "spacy", "argostranslate") if m in sys.modules)}


# --- document mode -------------------------------------------------------------------------

CORPUS = ROOT / "benchmarks" / "corpus"


def build_documents(work: Path, copies: int) -> Path:
    """``copies`` of the corpus articles, numbers changed in each copy so that no sentence repeats."""
    import re

    folder = work / "documents"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for k in range(copies):
        for article in sorted(CORPUS.glob("*.md")):
            text = article.read_text(encoding="utf-8")
            head, body = text.split("\n---\n", 1)
            if k:  # change the numbers of the body (not URLs' digits): 100 -> 101 + k...
                parts = re.split(r"(https?://\S+|\(https?://[^)]*\))", body)
                body = "".join(p if i % 2 else re.sub(r"(?<![\d.])(\d+)", lambda m: _bump(m.group(1), k), p)
                               for i, p in enumerate(parts))
            (folder / f"{k:02d}_{article.name}").write_text(f"{head}\n---\n{body}", encoding="utf-8")
    return folder


def _bump(digits: str, k: int) -> str:
    value = int(digits)
    if 1 <= value <= 12:  # keep months and small counts valid
        return str((value + k - 1) % 12 + 1)
    return str(value + k)


def document_inputs(folder: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from publisher.articles.read import read_article
    from publisher.translate.article import model_inputs

    inputs: list[str] = []
    for path in sorted(folder.glob("*.md")):
        inputs.extend(model_inputs(read_article(path)))
    return inputs


def child_document(package: Path, work: Path, cap: int, beam: int, echo: bool) -> dict:
    """The publisher translate path over the document folder (model loaded first, no cache)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from publisher.app import Pipeline, translate_files
    from publisher.translate.argos import ArgosTranslator, DecodingOptions
    from publisher.translate.packages import read_package

    class Echo(ArgosTranslator):
        """Runs the model for its time, then answers like a model that keeps placeholders."""

        def translate_sentences(self, sentences):
            from fake_openai import fake_english

            super().translate_sentences(sentences)
            return [fake_english(s) for s in sentences]

    cls = Echo if echo else ArgosTranslator
    translator = cls(read_package(package), DecodingOptions(beam_size=beam, max_decoding_length=cap))
    translator.translate_sentences(["你好。"])  # loads the model
    calls = {"n": 0, "items": 0}
    real = translator.translate_sentences

    def counted(sentences):
        calls["n"] += 1
        calls["items"] += len(sentences)
        return real(sentences)

    translator.translate_sentences = counted  # type: ignore[method-assign]
    out = work / ("doc-out-echo" if echo else "doc-out-random")
    t1 = time.perf_counter()
    results = translate_files([work / "documents"], out, translators=Pipeline(translator=translator), cache=None)
    seconds = time.perf_counter() - t1
    pieces = sentences = 0
    import re

    for r in results:
        m = re.search(r"(\d+) sentences, \d+ from the cache(?:, (\d+) in pieces)?", r.message)
        if r.status != "written" or not m:
            raise SystemExit(f"{r.path}: {r.status} {r.message}")
        sentences += int(m.group(1))
        pieces += int(m.group(2) or 0)
    return {"seconds": seconds, "files": len(results), "sentences": sentences, "pieces": pieces,
            "calls": calls["n"], "items": calls["items"], "peak_rss_mb": _peak_rss_mb()}


def reference_fallbacks() -> tuple[int, int]:
    """(correct reference translations the verifier refuses, sentences) on the corpus: the articles
    with benchmarks/corpus/reference.json, and the single sentences of benchmarks/corpus/sentences.json."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from publisher.articles.read import read_article
    from publisher.translate.base import FakeTranslator
    from publisher.translate.article import TranslationStats, model_inputs, translate_article

    fake = FakeTranslator(json.loads((CORPUS / "reference.json").read_text(encoding="utf-8")))
    pieces = total = 0
    for path in sorted(CORPUS.glob("*.md")):
        stats = TranslationStats()
        translate_article(read_article(path), fake, stats=stats)
        pieces += stats.pieces
        total += stats.sentences
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sentence.md"
        for chinese, english in json.loads((CORPUS / "sentences.json").read_text(encoding="utf-8")).items():
            path.write_text(f"---\ntitle: 标题\n---\n\n{chinese}\n", encoding="utf-8")
            article = read_article(path)
            stats = TranslationStats()
            translate_article(article, FakeTranslator({model_inputs(article)[0]: english, "标题": "Title"}),
                              stats=stats)
            pieces += stats.pieces
            total += 1
    return pieces, total


def document_main(args, work: Path) -> None:
    package = build_model(work, args.rebuild)
    build_documents(work, args.copies)
    all_inputs = document_inputs(work / "documents")
    inputs = list(dict.fromkeys(all_inputs))  # raw CTranslate2 gets each distinct sentence once, like publisher
    (work / "sentences.json").write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
    n = len(inputs)
    print(f"document mode: {args.copies} x {len(list(CORPUS.glob('*.md')))} articles, {n} distinct model inputs "
          f"(of {len(all_inputs)}), beam "
          f"{args.beam}, max_decoding_length {args.cap}, model {package}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start", flush=True)
    # Other processes share the CPUs: raw and document runs alternate, --repeat times, and the
    # fastest of each counts (the same rule for both sides of every ratio).
    raw_results: list[tuple[dict, dict]] = []
    figures: dict[str, dict] = {}
    for round_ in range(args.repeat):
        for config in RAW_SWEEP[:2]:
            r = run_child(work, "raw", args.cap, args.beam, config)
            raw_results.append((config, r))
            print(f"    raw CTranslate2 {config}: {n / r['seconds']:6.2f} sentences/s", flush=True)
        for mode in args.modes.split(","):
            d = run_child(work, f"doc-{mode}", args.cap, args.beam)
            print(f"    publisher translate, {mode} model: {n / d['seconds']:6.2f} sentences/s", flush=True)
            if mode not in figures or d["seconds"] < figures[mode]["seconds"]:
                figures[mode] = d
    best_config, b = min(raw_results, key=lambda cr: cr[1]["seconds"])
    print(f"(b) raw CTranslate2, best: {n / b['seconds']:7.2f} sentences/s  {b['seconds']:6.1f} s  {best_config}",
          flush=True)
    for mode, d in figures.items():
        ratio = b["seconds"] / d["seconds"]
        print(f"({mode[0]}) publisher translate, {mode} model: {n / d['seconds']:7.2f} sentences/s  "
              f"{d['seconds']:6.1f} s  {ratio:.2f} x raw  fallback {d['pieces']}/{d['sentences']} sentences "
              f"({d['pieces'] / max(d['sentences'], 1):.0%}), {d['calls']} model calls for {d['items']} items, "
              f"{d['files']} files", flush=True)
    refused, total = reference_fallbacks()
    print()
    if "echo" in figures:
        ratio = b["seconds"] / figures["echo"]["seconds"]
        print(f"(e)/raw speed ratio        {ratio:6.2f}   (target >= 0.8)  {'OK' if ratio >= 0.8 else 'MISSED'}   "
              "(echo: the model runs, its output replaced by one that keeps placeholders, names and numbers)")
    if "random" in figures:
        print(f"(r)/raw speed ratio        {b['seconds'] / figures['random']['seconds']:6.2f}   "
              f"(random model: fallback {figures['random']['pieces']}/{figures['random']['sentences']})")
    print(f"correct reference translations sent to the fallback: {refused}/{total}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share the CPUs)")


def run_child(work: Path, engine: str, cap: int, beam: int, config: dict | None = None) -> dict:
    argos_home = work / "argos-home"
    env = dict(os.environ, ARGOS_PACKAGES_DIR=str(work / "packages"), HOME=str(argos_home),
               XDG_DATA_HOME=str(argos_home / "data"), XDG_CONFIG_HOME=str(argos_home / "config"),
               XDG_CACHE_HOME=str(argos_home / "cache"))
    cmd = [sys.executable, __file__, "--child", engine, "--work", str(work), "--cap", str(cap), "--beam", str(beam)]
    if config:
        cmd += ["--config", json.dumps(config)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_cli(work: Path, package: Path) -> dict:
    """Peak RSS and time of `publisher translate SEED` with the real-shape model (its own caps)."""
    out = work / "cli-out"
    env = dict(os.environ, PUBLISHER_MODELS_DIR=str(package.parent), PUBLISHER_HOME=str(work / "home"),
               PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "publisher", "translate", str(SEED), "-o", str(out), "--no-cache"],
                            env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"publisher translate failed:\n{stderr[-3000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def _raw(inter: int, intra: int, batch: int, batch_type: str = "examples", compute_type: str = "int8") -> dict:
    return {"inter_threads": inter, "intra_threads": intra, "max_batch_size": batch, "batch_type": batch_type,
            "compute_type": compute_type}


RAW_SWEEP = [
    _raw(2, 1, 4), _raw(2, 1, 8),  # --quick runs these two
    _raw(1, 0, 32), _raw(1, 0, 8), _raw(2, 1, 2), _raw(2, 1, 6), _raw(2, 1, 16), _raw(2, 1, 256, "tokens"),
    _raw(2, 1, 6, compute_type="int8_float32"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where the model is built (outside the repo)")
    parser.add_argument("--cap", type=int, default=64, help="max_decoding_length for every engine")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="only the first two raw CTranslate2 settings")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--document", action="store_true", help="document mode (see above)")
    parser.add_argument("--copies", type=int, default=10, help="document mode: copies of the corpus")
    parser.add_argument("--modes", default="random,echo", help="document mode: which runs (random,echo)")
    parser.add_argument("--repeat", type=int, default=1, help="document mode: alternate raw and document runs N "
                        "times, the fastest of each counts")
    parser.add_argument("--child", choices=["argos", "raw", "publisher", "doc-random", "doc-echo"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--config", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.work.resolve()
    if args.child:
        sentences = json.loads((work / "sentences.json").read_text(encoding="utf-8"))
        package = next((work / "packages").glob("*/metadata.json")).parent
        if args.child.startswith("doc-"):
            result = child_document(package, work, args.cap, args.beam, echo=args.child == "doc-echo")
        elif args.child == "argos":
            result = child_argos(package, sentences, args.cap, args.beam)
        elif args.child == "raw":
            result = child_raw(package, sentences, args.cap, args.beam, args.config)
        else:
            result = child_publisher(package, sentences, args.cap, args.beam)
        print(json.dumps(result, ensure_ascii=False))
        return
    if ROOT in work.parents or work == ROOT:
        raise SystemExit("--work must be outside the repository (the model is not to be committed)")
    if args.document:
        document_main(args, work)
        return
    package = build_model(work, args.rebuild)
    sentences = bench_sentences(args.sentences)
    (work / "sentences.json").write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
    n = len(sentences)
    print(f"{n} sentences, beam {args.beam}, max_decoding_length {args.cap}, model {package} "
          f"({sum(f.stat().st_size for f in package.rglob('*') if f.is_file()) / 1e6:.0f} MB), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)

    a = run_child(work, "argos", args.cap, args.beam)
    print(f"(a) argostranslate: {n / a['seconds']:7.2f} sentences/s  {a['seconds']:6.1f} s  "
          f"peak RSS {a['peak_rss_mb']:5.0f} MB  (import {a['import_seconds']:.1f} s, loads {a['heavy']})", flush=True)
    raw_results = []
    for config in RAW_SWEEP[:2] if args.quick else RAW_SWEEP:
        r = run_child(work, "raw", args.cap, args.beam, config)
        raw_results.append((config, r))
        print(f"    raw CTranslate2 {config}: {n / r['seconds']:6.2f} sentences/s", flush=True)
    best_config, b = min(raw_results, key=lambda cr: cr[1]["seconds"])
    print(f"(b) raw CTranslate2, best: {n / b['seconds']:7.2f} sentences/s  {b['seconds']:6.1f} s  "
          f"peak RSS {b['peak_rss_mb']:5.0f} MB  {best_config}", flush=True)
    c = run_child(work, "publisher", args.cap, args.beam)
    print(f"(c) publisher engine: {n / c['seconds']:7.2f} sentences/s  {c['seconds']:6.1f} s  "
          f"peak RSS {c['peak_rss_mb']:5.0f} MB  (imports {c['heavy'] or 'no torch/stanza/spacy/argostranslate'})",
          flush=True)
    identical = sum(1 for x, y in zip(a["outputs"], c["outputs"]) if x == y) / n
    identical_bc = sum(1 for x, y in zip(b["outputs"], c["outputs"]) if x == y) / n
    cli = measure_cli(work, package)
    ca, cb = a["seconds"] / c["seconds"], b["seconds"] / c["seconds"]
    print()
    print(f"c/a speed ratio            {ca:6.2f}   (target >= 3.5)  {'OK' if ca >= 3.5 else 'MISSED'}")
    print(f"identical outputs a vs c   {identical:6.1%}   (target >= 95%)  {'OK' if identical >= 0.95 else 'MISSED'}")
    print(f"c/b speed ratio            {cb:6.2f}   (target >= 0.9)  {'OK' if cb >= 0.9 else 'MISSED'}"
          f"   (identical outputs b vs c {identical_bc:.1%})")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share the CPUs)")
    print(f"publisher translate (seed, real-shape model): peak RSS {cli['peak_rss_mb']:.0f} MB (target <= 500) "
          f"{'OK' if cli['peak_rss_mb'] <= 500 else 'MISSED'}, {cli['seconds']:.1f} s")


if __name__ == "__main__":
    main()

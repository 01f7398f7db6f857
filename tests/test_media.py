"""publisher.media: choosing, fetching (from a loopback server), sniffing, fitting and storing
images, with real images made by Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

import factories
import media_fixtures as mf
from publisher.articles.read import read_article
from publisher.media.attach import add_images, attach
from publisher.media.choose import Chosen, ImagePlan, candidates, credit_label, full_alt
from publisher.media.fetch import Fetcher
from publisher.media.images import fit, shape_problem, sniff, strip_jpeg_metadata
from publisher.media.store import FetchFailed, MediaError, MediaStore


@pytest.fixture
def server():
    with mf.ImageServer() as s:
        yield s


@pytest.fixture
def fetcher(server, tmp_path):
    f = Fetcher(MediaStore(tmp_path / "media"), transport=mf.routed(server.base_url), timeout=5)
    yield f
    f.close()


def test_png_fetched_sniffed_and_stored_by_content(server, fetcher, tmp_path):
    data = mf.png()
    url = server.add("https://example.org/a/pic.png", data)
    got = fetcher.fetch(url)
    assert got.info.format == "PNG" and (got.info.width, got.info.height) == (800, 450)
    assert fetcher.store.path(got.sha256).read_bytes() == data
    assert oct(fetcher.store.path(got.sha256).stat().st_mode & 0o777) == "0o600"
    # a second fetch of the same URL does not go to the network
    again = fetcher.fetch(url)
    assert again.cached and again.sha256 == got.sha256
    assert len([h for h in server.hits if h.path == "/a/pic.png"]) == 1


def test_extension_and_content_type_are_not_trusted(server, fetcher):
    url = server.add("https://example.org/photo.jpg", mf.png(), content_type="image/jpeg")
    assert fetcher.fetch(url).info.format == "PNG"
    text = server.add("https://example.org/fake.png", b"<html>not an image</html>", content_type="image/png")
    with pytest.raises(MediaError, match=r"fake\.png: not an image"):
        fetcher.fetch(text)


def test_corrupt_image_is_refused_in_one_line(server, fetcher):
    url = server.add("https://example.org/broken.png", mf.corrupt())
    with pytest.raises(MediaError) as info:
        fetcher.fetch(url)
    assert "broken.png" in str(info.value) and "damaged" in str(info.value) and "\n" not in str(info.value)


def test_size_cap_and_http_errors(server, tmp_path):
    url = server.add("https://example.org/big.png", mf.over_bluesky_limit())
    small = Fetcher(MediaStore(tmp_path / "m"), transport=mf.routed(server.base_url), max_bytes=100_000)
    with pytest.raises(MediaError, match="over the limit of 100,000"):
        small.fetch(url)
    with pytest.raises(MediaError, match="HTTP 404"):
        small.fetch("https://example.org/missing.png")


def test_wechat_gets_its_referer_and_the_placeholder_is_refused(server, fetcher):
    real = mf.animated_gif()
    url = "https://mmbiz.qpic.cn/sz_mmbiz_gif/abc/640?wx_fmt=gif&from=appmsg"
    server.add(url, real, "image/gif", referer="https://mp.weixin.qq.com/")
    got = fetcher.fetch(url)
    assert got.info.animated and fetcher.store.get(got.sha256) == real
    assert server.hits[-1].referer == "https://mp.weixin.qq.com/" and server.hits[-1].host == "mmbiz.qpic.cn"
    # the day WeChat refuses anyway, its placeholder is recognised, for a png URL too
    server.ignore_referer = True
    for other in ("https://mmbiz.qpic.cn/sz_mmbiz_gif/def/640?wx_fmt=gif",
                  "https://mmbiz.qpic.cn/sz_mmbiz_png/ghi/640?wx_fmt=png"):
        server.add(other, mf.png(), referer="https://mp.weixin.qq.com/")
        with pytest.raises(MediaError, match="placeholder"):
            fetcher.fetch(other)


def test_offline_fetch_fails_fast_with_one_line(tmp_path):
    f = Fetcher(MediaStore(tmp_path / "m"), offline=True)
    with pytest.raises(FetchFailed, match="offline"):
        f.fetch("https://example.org/x.png")


def test_local_paths_relative_to_the_article_only(tmp_path, fetcher):
    folder = tmp_path / "art"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "a.gif").write_bytes(mf.png())  # an extension that lies
    assert fetcher.fetch("img/a.gif", folder).info.format == "PNG"
    (tmp_path / "secret.png").write_bytes(mf.png())
    with pytest.raises(MediaError, match="outside the article's folder"):
        fetcher.fetch("../secret.png", folder)
    with pytest.raises(MediaError, match="only paths relative"):
        fetcher.fetch(str(tmp_path / "secret.png"), folder)
    with pytest.raises(MediaError, match="no such file"):
        fetcher.fetch("img/nope.png", folder)


# --- fitting ---------------------------------------------------------------------------------


def test_png_that_fits_is_not_touched():
    data = mf.png()
    for platform in ("x", "mastodon", "bluesky"):
        fitted = fit(data, platform)
        assert fitted.data == data and fitted.changed == "as is"


def test_exif_is_stripped_losslessly_from_a_jpeg():
    data = mf.jpeg_with_exif()
    assert sniff(data, "t").has_exif
    fitted = fit(data, "x")
    assert fitted.changed == "EXIF removed" and len(fitted.data) < len(data)
    with Image.open(io.BytesIO(fitted.data)) as im:
        assert not im.getexif() and "exif" not in im.info
        with Image.open(io.BytesIO(data)) as original:
            assert im.tobytes() == original.tobytes()  # same pixels: not re-encoded


def test_rotated_jpeg_is_turned_upright_then_stripped():
    data = mf.jpeg_with_exif(640, 480, orientation=6)
    fitted = fit(data, "mastodon")
    assert (fitted.width, fitted.height) == (480, 640) and fitted.changed.startswith("re-encoded")
    assert not sniff(fitted.data, "t").has_exif


def test_animated_gif_kept_on_x_and_mastodon_first_frame_on_bluesky():
    data = mf.animated_gif()
    assert fit(data, "x").data == data and fit(data, "x").animated
    assert fit(data, "mastodon").animated
    still = fit(data, "bluesky")
    assert not still.animated and sniff(still.data, "t").frames == 1 and still.changed.startswith("first frame")


def test_over_bluesky_limit_is_fitted_only_for_bluesky():
    data = mf.over_bluesky_limit()
    assert fit(data, "x").data == data
    fitted = fit(data, "bluesky")
    assert fitted.size <= 1_000_000 and fitted.mime == "image/jpeg"
    assert fitted.width / fitted.height == pytest.approx(1.4, rel=0.01)


def test_jpeg_metadata_stripper_keeps_everything_else():
    data = mf.jpeg_with_exif()
    stripped = strip_jpeg_metadata(data)
    assert b"TestCam" in data and b"TestCam" not in stripped
    assert stripped.endswith(b"\xff\xd9") and stripped[:2] == b"\xff\xd8"


def test_shapes_that_are_not_content():
    from PIL import ImageDraw

    banner = mf.png(1200, 200)
    assert "banner" in shape_problem(banner, sniff(banner, "b"))
    icon = mf.png(120, 120)
    assert "icon" in shape_problem(icon, sniff(icon, "i"))
    im = Image.new("L", (330, 330), 255)
    draw = ImageDraw.Draw(im)
    for i in range(0, 330, 30):
        for j in range(0, 330, 30):
            if (i * 7 + j * 3) % 60 < 30:
                draw.rectangle((i, j, i + 29, j + 29), fill=0)
    out = io.BytesIO()
    im.save(out, "PNG")
    qr = out.getvalue()
    assert shape_problem(qr, sniff(qr, "q")) == "a QR code"
    photo = mf.png()
    assert shape_problem(photo, sniff(photo, "p")) is None


# --- choosing, alt text, credits --------------------------------------------------------------


def test_candidates_skip_read_more_qr_and_logo(tmp_path):
    text = ("---\ntitle: 测试\n---\n\n第一段内容。\n\n![二维码](https://example.org/qr.png)\n\n扫码关注我们\n\n"
            "![logo](https://example.org/logo.png)\n\n![图片](https://example.org/real.png)\n\n图源：机器之心\n\n"
            "后面的内容。\n\n[![Read more](https://example.org/more.png)](https://mp.weixin.qq.com/s/x)\n")
    path = tmp_path / "a.md"
    path.write_text(text, encoding="utf-8")
    article = read_article(path)
    assert [c.image.url for c in candidates(article)] == ["https://example.org/real.png"]


def test_credit_labels_carry_no_link():
    assert credit_label("https://x.com/CharaspowerAI/status/1799494388462063632") == "CharaspowerAI on X"
    assert credit_label("https://weibo.com/7714861068/Oig1Qm8Or?refer_flag=1") == "Weibo"
    assert credit_label("https://www.example.com/p/1") == "Example"
    label = credit_label("Synced (see jiqizhixin.com)")
    assert "jiqizhixin.com" not in label and "jiqizhixin com" in label


def test_alt_text_keeps_the_credit_whole_within_the_limit():
    alt = full_alt("word " * 600, "https://x.com/someone/status/1", "mastodon")
    assert len(alt) <= 1500 and alt.endswith("(Image: https://x.com/someone/status/1)")
    assert full_alt("A cat.", None, "x") == "A cat."


def test_seed_lead_image_on_every_platform(server, fetcher):
    article = read_article(factories.SEED if hasattr(factories, "SEED") else Path(__file__).parent.parent / "seeds"
                           / "000_effdbda2e4cb0846.txt")
    mf.serve_seed_images(server, article)
    translated = factories.seed_translated()
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts

    drafts = build_drafts(translated, ("x", "mastodon", "bluesky"), options=ThreadOptions())
    out = add_images(translated.article, translated, drafts, "lead", fetcher)
    first = article.images[0].url.replace("&amp;", "&")
    for platform, draft in out.items():
        thread = draft.thread
        assert len(thread.media) == 1, (platform, thread.warnings)
        image = thread.media[0]
        assert image.source == first and image.credit == "https://x.com/CharaspowerAI/status/1799494388462063632"
        assert image.alt.endswith("(Image: https://x.com/CharaspowerAI/status/1799494388462063632)")
        carrier = thread.posts[image.post]
        assert "Image: CharaspowerAI on X" in carrier.text and carrier.length <= carrier.limit
        assert draft.posts[image.post].post == carrier
        assert image.animated == (platform != "bluesky")
        assert thread.content_hash != drafts[platform].thread.content_hash
    card = out["bluesky"].thread.card
    assert card is None or card.uri  # the seed has no original link in its frontmatter


def test_points_mode_puts_the_image_next_to_a_point_on_its_post(server, fetcher):
    mf.serve_seed_images(server, factories.seed_translated().article)
    translated = factories.seed_translated()
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts

    drafts = build_drafts(translated, ("mastodon",), options=ThreadOptions())
    out = add_images(translated.article, translated, drafts, "points", fetcher)["mastodon"]
    assert len(out.thread.media) >= 2 and out.thread.media[0].post == 0
    blocks = translated.article.blocks
    for image in out.thread.media[1:]:
        point = out.posts[image.post].point
        assert point is not None
        near = [i for i, b in enumerate(blocks) if any(img.url.replace("&amp;", "&") == image.source for img in b.images)]
        assert near and min(abs(n - point.block) for n in near) <= 2  # right before or after (credit lines between)
    assert len({m.source for m in out.thread.media}) == len(out.thread.media)  # never the same image twice
    none = add_images(translated.article, translated, drafts, "none", fetcher)["mastodon"]
    assert none.thread.media == () and none.thread.content_hash == drafts["mastodon"].thread.content_hash


def test_a_stalled_server_is_given_up_in_bounded_time(server, tmp_path):
    import time

    server.stall = 3.0
    url = server.add("https://slow.example.org/x.png", mf.png())
    f = Fetcher(MediaStore(tmp_path / "m"), transport=mf.routed(server.base_url), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="no answer within 1 s"):
        f.fetch(url)
    assert time.monotonic() - started < 2.5


def test_png_metadata_is_removed_without_loss():
    im = Image.open(io.BytesIO(mf.png()))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    out = io.BytesIO()
    im.save(out, "PNG", exif=exif)
    data = out.getvalue()
    assert sniff(data, "t").has_exif
    fitted = fit(data, "bluesky")
    assert fitted.mime == "image/png" and fitted.changed == "EXIF removed" and b"TestCam" not in fitted.data
    with Image.open(io.BytesIO(fitted.data)) as a, Image.open(io.BytesIO(data)) as b:
        assert a.tobytes() == b.tobytes()


def test_an_animated_gif_never_shares_a_post(server, fetcher):
    """Two images meant for a post whose first is a GIF: the second goes elsewhere (X refuses a
    GIF with other media)."""
    translated = factories.seed_translated()
    mf.serve_seed_images(server, translated.article)
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts

    drafts = build_drafts(translated, ("x",), options=ThreadOptions())
    gif = fetcher.fetch(translated.article.images[0].url)
    still = fetcher.fetch(translated.article.images[3].url)
    cands = candidates(translated.article)
    plan = ImagePlan((Chosen(0, gif, "a gif", None, None, cands[0]),
                            Chosen(0, still, "a still", None, None, cands[3])))
    thread = attach(drafts, plan, fetcher.store)["x"].thread
    assert [m.post for m in thread.media] == [0, 1] and thread.media[0].animated


def test_chinese_alt_text_and_credit_are_translated_like_the_article(server, fetcher, tmp_path):
    from publisher.threads.options import ThreadOptions
    from publisher.threads.layout import build_drafts
    from publisher.translate.base import FakeTranslator
    from publisher.translate.article import translate_article

    url = server.add("https://example.org/noodles.png", mf.png())
    text = (f"---\ntitle: 可灵\nauthor: 机器之心\n---\n\n快手发布了可灵。\n\n![一碗面条]({url})\n\n图源：机器之心\n\n"
            "它可以生成两分钟的视频。\n")
    path = tmp_path / "a.md"
    path.write_text(text, encoding="utf-8")
    book = {"一碗面条": "A bowl of noodles", "快手发布了可灵。": "Kuaishou released Kling.",
            "它可以生成两分钟的视频。": "It can make two-minute videos.", "可灵": "Kling"}
    translator = FakeTranslator(book)
    translated = translate_article(read_article(path), translator)
    drafts = build_drafts(translated, ("mastodon",), options=ThreadOptions())
    thread = add_images(translated.article, translated, drafts, "lead", fetcher, translator)["mastodon"].thread
    [image] = thread.media
    assert image.alt == "A bowl of noodles (Image: Synced)"  # 机器之心 -> Synced through the glossary
    assert image.credit == "Synced" and "Image: Synced" in thread.posts[image.post].text

"""Image fitting: time and peak memory per platform, against a plain Pillow baseline.

For each test image (made here with Pillow: a 4,000x3,000 camera JPEG with EXIF, a noisy
1,400x1,000 PNG over Bluesky's limit, a 12-frame animated GIF), it times
``publisher.media.images.fit`` for X, Mastodon and Bluesky, and prints the bytes before and after,
what was done, the time, and the ratio against the baseline: one full decode and one JPEG save
at quality 90 of the same image with Pillow (the least any re-encoding needs). Peak memory is
the process's maximum resident size after each image (``ru_maxrss``).

Run: ``python benchmarks/media.py [--repeat 3]`` from the repository root.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from publisher.media.images import fit  # noqa: E402


def camera_jpeg() -> bytes:
    rng = random.Random(1)
    small = Image.frombytes("RGB", (400, 300), bytes(rng.getrandbits(8) for _ in range(400 * 300 * 3)))
    im = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0112] = 1
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def noisy_png() -> bytes:
    rng = random.Random(3)
    im = Image.frombytes("RGB", (1400, 1000), bytes(rng.getrandbits(8) for _ in range(1400 * 1000 * 3)))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def animated() -> bytes:
    frames = []
    rng = random.Random(5)
    for _ in range(12):
        frames.append(Image.frombytes("L", (640, 360), bytes(rng.getrandbits(8) for _ in range(640 * 360)))
                      .convert("P"))
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def baseline(data: bytes) -> float:
    started = time.perf_counter()
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        im.convert("RGB").save(io.BytesIO(), "JPEG", quality=90)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    images = {"camera JPEG 4000x3000 + EXIF": camera_jpeg(), "noisy PNG 1400x1000": noisy_png(),
              "animated GIF 640x360x12": animated()}
    print(f"{'image':<30} {'platform':<9} {'before':>9} {'after':>9} {'ms':>8} {'baseline ms':>12} {'ratio':>6}  done")
    for name, data in images.items():
        base = statistics.median(baseline(data) for _ in range(args.repeat))
        for platform in ("x", "mastodon", "bluesky"):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                fitted = fit(data, platform, name)
                times.append(time.perf_counter() - started)
            t = statistics.median(times)
            print(f"{name:<30} {platform:<9} {len(data):>9,} {fitted.size:>9,} {t * 1000:>8.1f} {base * 1000:>12.1f} "
                  f"{t / base:>6.2f}  {fitted.changed}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'':<30} peak resident memory so far: {peak:.0f} MB")


if __name__ == "__main__":
    main()

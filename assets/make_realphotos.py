#!/usr/bin/env python
"""Make assets/realphotos/poop: a small VOC set of REAL photos for the demo's last test.

Usage:  python assets/make_realphotos.py --realdev ../shared/realdev

The photos are Public Domain (Roboflow "Dog Poop", exported 2024-11-15), the one licensed
source the project may ship; nothing else from realdev may be committed. Every 5th poop
photo of REALDEV/photos in name order (the source ships up to three flipped or rotated
copies of a photo side by side: the stride keeps them apart) is reduced to 320x320 and
stored as JPEG q85 with its boxes scaled, reproducibly (OpenCV single-threaded).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import cv2

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing

from synth.fsio import write_bytes, write_text  # noqa: E402
from synth.imageio import encode_jpeg, read_image  # noqa: E402
from synth.voc import VocImage, VocObject, read_voc_set, write_annotation, write_labels  # noqa: E402

SIDE = 320
QUALITY = 85
STRIDE = 5
SOURCE = """\
# REAL PHOTOS — not rendered by this project

{n} photos of dog poop, mostly outdoors on grass, hand-held, with one box per object.

Source: Roboflow Universe, "Dog Poop" dataset, export of 2024-11-15, released into the
Public Domain. Every {stride}th poop photo of that export (in name order), reduced from
448x448 to {side}x{side} (JPEG quality {q}), boxes scaled. Remade by
`python assets/make_realphotos.py --realdev DIR`.

`pipeline demo` ends with a test of every trained model on these photos beside the
robot-view stand-in: the only real photos the tool ships. They are top-down and outdoors,
unlike a floor robot's view; what they show is how far synthetic training transfers to
real pixels for one class.
"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--realdev", type=click.Path(path_type=Path, exists=True), required=True,
              help="The realdev folder (its photos/ VOC set).")
@click.option("--out", type=click.Path(path_type=Path), default=ROOT / "realphotos" / "poop",
              show_default="assets/realphotos/poop")
def main(realdev: Path, out: Path) -> None:
    """Write the real-photo test set of the demo (see the module docstring)."""
    cv2.setNumThreads(1)
    voc = read_voc_set(realdev / "photos")
    poop = [im for im in sorted(voc.images, key=lambda im: im.stem)
            if im.objects and all(o.name == "poop" for o in im.objects)][::STRIDE]
    stems = []
    for im in poop:
        rgb = read_image(voc.image_path(im))
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        sx, sy = SIDE / w, SIDE / h
        objects = [VocObject("poop", (max(1, round((o.bbox[0] - 1) * sx) + 1),
                                      max(1, round((o.bbox[1] - 1) * sy) + 1),
                                      min(SIDE, round(o.bbox[2] * sx)),
                                      min(SIDE, round(o.bbox[3] * sy))))
                   for o in im.objects]
        write_bytes(out / "JPEGImages" / f"{im.stem}.jpg", encode_jpeg(small, QUALITY))
        write_annotation(out / "Annotations" / f"{im.stem}.xml",
                         VocImage(im.stem, f"{im.stem}.jpg", SIDE, SIDE, 3, objects))
        stems.append(im.stem)
    write_labels(out, ["poop"])
    write_text(out / "ImageSets" / "Main" / "test.txt", "\n".join(stems) + "\n")
    write_text(out / "SOURCE.md", SOURCE.format(n=len(stems), stride=STRIDE, side=SIDE,
                                                q=QUALITY))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    click.echo(f"wrote {len(stems)} real photos to {out} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

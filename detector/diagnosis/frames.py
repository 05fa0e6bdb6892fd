"""A folder of unlabelled frames as a VOC set without objects (compare-real --real-unlabelled).

FRAMES_DIR is searched recursively for .jpg, .jpeg, .png, .bmp, .tif, .tiff and .webp files
(any case), sorted by path; hidden files and folders are skipped, and so are masks
(NAME_mask.png, NAME_floor.png: synth's photo and background conventions). A VOC directory
(one with a JPEGImages/ folder) stands for its JPEGImages/ only, so its Annotations/ and
segmentation PNGs are never read. These are synth.imagestats' folder rules. A frame is named
by its file stem, as in a detections file's image_id, so two frames with one stem are an error.
"""
from __future__ import annotations

import os
from pathlib import Path

from synth.errors import InputError
from synth.imageio import IMAGE_SUFFIXES, image_size
from synth.imagestats import image_files
from synth.voc import VocImage, VocSet


def read_frames(root: str | os.PathLike, classes: list[str]) -> VocSet:
    """The frames as a VocSet with no objects (sizes from the file headers), of `classes`."""
    paths = image_files(root)
    folder = Path(root) / "JPEGImages" if (Path(root) / "JPEGImages").is_dir() else Path(root)
    if not paths:
        raise InputError(f"{folder}: no frames ({', '.join(x[1:] for x in IMAGE_SUFFIXES)} "
                         f"files) in it or below it")
    images, seen = [], {}
    for p in paths:
        if p.stem in seen:
            raise InputError(f"{p}: frame name {p.stem!r} also used by {seen[p.stem]} "
                             f"(detections refer to frames by file stem: rename one)")
        seen[p.stem] = p
        w, h = image_size(p)
        # An absolute filename: VocSet.image_path joins it onto ROOT/JPEGImages and gets it back.
        images.append(VocImage(stem=p.stem, filename=str(p.resolve()), width=w, height=h))
    return VocSet(root=folder, classes=list(classes), images=images)

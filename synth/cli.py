"""The `synth` command: generate, assets, preview, stats, split, convert."""
from __future__ import annotations

import logging
from pathlib import Path

import click

from .catalog import DEFAULT_ASSETS, DEFAULT_CATALOG, NAMING_RULE
from .errors import CommandGroup, InputError, setup_logging


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Make viewpoint-correct synthetic floor-object datasets in PASCAL VOC format."""
    setup_logging(verbose)


@main.command()
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the sheet (.png or .jpg). Default: DIR/preview.png.")
@click.option("-n", "count", type=int, default=24, show_default=True, help="Images on the sheet.")
@click.option("--cols", type=int, default=6, show_default=True, help="Tiles per row.")
@click.option("--thumb", type=int, default=320, show_default=True, help="Tile width in pixels.")
@click.option("--split", default=None, help="Only images of ImageSets/Main/SPLIT.txt.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random sample of images (when the set has more than N).")
@click.option("--first", is_flag=True, help="Take the first N images in name order, not a sample.")
def preview(directory: Path, out: Path | None, count: int, cols: int, thumb: int,
            split: str | None, seed: int, first: bool) -> None:
    """Draw a contact sheet of a VOC set with its boxes and class names.

    Each class has its own colour; truncated objects are dashed and marked "(t)",
    difficult ones "(d)"; each tile is captioned with its image name.

    Example: synth preview data/synth-topdown -n 12 --cols 4 --out sheet.png
    """
    from .fsio import write_bytes
    from .imageio import encode_jpeg, encode_png
    from .preview import contact_sheet

    sheet = contact_sheet(directory, n=count, cols=cols, thumb=thumb,
                          seed=None if first else seed, split=split)
    out = out if out is not None else directory / "preview.png"
    data = encode_jpeg(sheet, 92) if out.suffix.lower() in (".jpg", ".jpeg") else encode_png(sheet)
    write_bytes(out, data)
    click.echo(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


@main.command()
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--compare", "real_dir", type=click.Path(path_type=Path), metavar="REAL_DIR",
              help="Instead: DIR's image statistics beside those of a folder of real frames.")
def stats(directory: Path, as_json: bool, real_dir: Path | None) -> None:
    """Print per-split class counts, COCO box sizes and aspect-ratio quantiles of a VOC set.

    Splits are "all" plus each ImageSets/Main/*.txt. Box sizes are COCO's, by box area in
    pixels: small < 32x32, medium < 96x96, large above. Aspect is box height / width.

    With --compare REAL_DIR: the image statistics (brightness, contrast, channel means,
    sharpness, noise, JPEG blockiness, size) of DIR's images beside REAL_DIR's, median and
    IQR of each and the ratio of the medians (folders are read recursively, a VOC set as
    its JPEGImages, at most 400 images each, evenly sampled).

    \b
    Examples:
      synth stats data/synth-topdown --json > stats.json
      synth stats data/synth-topdown --compare frames/
    """
    import json

    if real_dir is not None:
        from .stats import compare_image_stats, format_compare

        result = compare_image_stats(directory, real_dir)
        click.echo(json.dumps(result, indent=2) if as_json else format_compare(result))
        return
    from .stats import dataset_stats, format_stats

    result = dataset_stats(directory)
    click.echo(json.dumps(result, indent=2) if as_json else format_stats(result))


@main.command()
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--ratio", type=float, required=True,
              help="Train fraction, 0 < R < 1 (e.g. 0.85: about 15% of images go to val).")
@click.option("--interval", "mode", flag_value="interval",
              help="Every k-th image in name order goes to val, k = round(1/(1-R)).")
@click.option("--random", "mode", flag_value="random",
              help="A seeded random round(N*(1-R)) images go to val.")
@click.option("--block", type=int, default=1, show_default=True,
              help="Move whole blocks of B consecutive images (by name): neighbours stay together.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@click.option("--tolerance", type=float, default=3.0, show_default=True,
              help="Warn when a class's share of objects differs between train and val by "
                   "more than this many percentage points.")
def split(directory: Path, ratio: float, mode: str | None, block: int, seed: int,
          tolerance: float) -> None:
    """Split a VOC set into ImageSets/Main/train.txt and val.txt.

    --interval sorts images by name (naturally: img2 before img10) and sends every k-th
    one to val, k = round(1/(1-R)) rounded half up: R=0.85 gives k=7, so images 7, 14,
    21, ... (positions k-1, 2k-1, ... counted from 0) are val. Val frames are then spread
    evenly through the sequence; for video-like data this avoids a val set that is a
    random subset of near-duplicate frames whose neighbours sit in train. --block B
    applies the rule to blocks of B consecutive frames, so neighbours stay together.
    --random shuffles (seeded) and puts exactly round(N*(1-R)) images (blocks) in val.

    Images listed in an existing test.txt stay out of train and val; an existing
    trainval.txt is rewritten as train + val. The class distribution of both splits is
    printed, with a warning for classes whose shares differ by more than --tolerance.

    Example: synth split data/robot-video --ratio 0.85 --interval --block 5
    """
    from .split import class_shares, format_shares, imbalanced_classes, interval_k, save_splits
    from .split import split_dataset
    from .voc import read_voc_set

    if mode is None:
        raise click.UsageError("choose --interval or --random")
    voc_set = read_voc_set(directory)
    splits = split_dataset(voc_set, ratio, mode, seed=seed, block=block)
    shares = class_shares(voc_set, splits)
    flagged = imbalanced_classes(shares, tolerance)
    written = save_splits(directory, splits)
    how = (f"every {interval_k(ratio)}th" if mode == "interval" else f"random (seed {seed})") + \
        (f" block of {block}" if block > 1 else "")
    n = len(splits["train"]) + len(splits["val"])
    click.echo(f"{n} images, {how} to val: train {len(splits['train'])} "
               f"({100 * len(splits['train']) / n:.1f}%), val {len(splits['val'])} "
               f"({100 * len(splits['val']) / n:.1f}%)")
    click.echo(format_shares(shares, flagged, tolerance))
    click.echo("wrote " + ", ".join(str(p) for p in written))


@main.command()
@click.argument("src", metavar="SRC", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Choice(["voc", "yolo", "coco"]), required=True,
              help="The layout to write.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The new set's folder (must not exist, or be empty).")
@click.option("--copy", is_flag=True, help="Copy the images (default: hard links, else symlinks).")
def convert(src: Path, to: str, out: Path, copy: bool) -> None:
    """Convert a set between the VOC, ultralytics YOLO and COCO layouts (SRC's is detected).

    SRC is a VOC folder (Annotations/, JPEGImages/, ImageSets/Main/), a YOLO folder or its
    data.yaml (images/SPLIT/, labels/SPLIT/, names), or a COCO folder
    (annotations/instances_SPLIT.json, images/). Splits and class order are kept; VOC
    `difficult` is COCO `iscrowd`; YOLO has no such flag (a warning says how many were lost).

    \b
    Examples:
      synth convert data/synth-robot --to yolo --out data/synth-robot-yolo
      synth convert exports/cvat_coco --to voc --out data/real --copy
    """
    from .layouts import convert as convert_set

    voc_set = convert_set(src, to, out, copy=copy)
    n_obj = sum(len(im.objects) for im in voc_set.images)
    click.echo(f"wrote {out} ({to}): {len(voc_set.images)} images, {n_obj} objects, "
               f"{len(voc_set.classes)} classes, from {voc_set.layout} set {src}")


# --------------------------------------------------------------------------- assets


@main.command("assets", epilog="\b\n" + NAMING_RULE + "\n\n\b\nExamples:\n"
              "  synth assets\n  synth assets my_subjects/ shoes.psd --only shoe,sock\n"
              "  synth assets photos/ --classes my_classes.yaml")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--classes", "classes_file", type=click.Path(path_type=Path),
              default=DEFAULT_CATALOG, show_default="the embedded assets/classes.yaml",
              help="Class catalog (YAML).")
@click.option("--only", default=None, metavar="CLASS,...",
              help="Only these classes (distractor classes are always listed).")
def assets_command(paths: tuple[Path, ...], classes_file: Path, only: str | None) -> None:
    """List subjects per class with their pose, size range, cut-out sizes and problems.

    PATH is a .psd file, a folder of them, a folder of CLASS/*.png cut-outs, or
    photos with masks (x.jpg + x_mask.png). Default: the embedded subject pack.
    """
    from .assets import format_summary, load_subjects, summarize_subjects
    from .catalog import load_catalog

    catalog = load_catalog(classes_file)
    wanted = [c for c in only.split(",") if c.strip()] if only else None
    problems: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            problems.append(record.getMessage())

    # Load warnings go to the problems list of the report instead of scrolling past on stderr.
    loggers = [logging.getLogger(name) for name in ("synth.assets", "synth.psd")]
    handler = Collect(logging.WARNING)
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
    try:
        subjects = load_subjects(list(paths) or [DEFAULT_ASSETS], catalog, only=wanted)
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
            lg.propagate = True
    rows = summarize_subjects(subjects, catalog)
    if wanted:
        rows = [r for r in rows if r["count"] or r["class"] in wanted]
    click.echo(f"{len(subjects)} subjects from {', '.join(map(str, paths or [DEFAULT_ASSETS]))}")
    click.echo(format_summary(rows, problems))


GENERATE_EPILOG = """\b
Views (uniform ranges; --height/--pitch/--fov fix a value):
  topdown  camera 0.60-1.00 m high, pitch 85-90 deg (looking down), FOV 60-75 deg
  robot    camera 0.05-0.09 m high, pitch 0 to -15 deg (level to looking up), FOV
           80-110 deg; the horizon in the lower half of the frame,
           subjects within 1.8 m
  human    camera 1.40-1.75 m high, pitch 25-50 deg, FOV 55-70 deg
  flat     the naive 2-D paste: floor from above, subjects at uniform random
           scale (8-45% of the short side) and rotation, no perspective
\b
Outputs DIR/JPEGImages, DIR/Annotations (VOC), DIR/ImageSets/Main/*.txt,
DIR/labels.txt and DIR/manifest.jsonl. --format yolo writes DIR/images/SPLIT,
DIR/labels/SPLIT and DIR/data.yaml instead, --format coco DIR/images/SPLIT and
DIR/annotations/instances_SPLIT.json (the same files `synth convert` writes from
the VOC set; the VOC working copy stays in DIR/.synth for resuming). Each placement uses the class's view
whose capture elevation is nearest the elevation the camera sees it from (see
`synth assets --help`); before rendering, a class is warned of when over 25% of
its placements would be seen over 20 deg from every view it has.
A rerun of the same command resumes
where a killed run stopped. --shard K/N renders every N-th image starting at
K; shards may write to one DIR, started at once: they take turns (flock on
DIR/.synth/lock) to gather the index files, and the last to finish writes all.
--check DIR verifies a finished set instead of rendering (exit 2 if not).
\b
Examples:
  synth generate --view robot -n 1000 --objects 1-3 --out data/robot
  synth generate --view topdown --only sock,rag --blend poisson
  synth generate --recipe recipes/robot.yaml --shard 0/4 --workers 8
  synth generate --view robot --match-stats frames/ --out data/robot-matched
  synth generate --check data/robot
\b
--match-stats DIR fits the camera effects (blur or sharpening, sensor noise,
gamma, contrast, colour balance, JPEG quality) on a probe batch of 32
composites so that the set's median sharpness, contrast, brightness, colours,
noise and JPEG blockiness match DIR's (any folder of frames, read recursively;
at most 200 of them, evenly sampled). The fit is written to OUT/effects.yaml, a
recipe fragment: `--recipe OUT/effects.yaml` (or its effects: block in a recipe)
makes the same camera without fitting again.
"""


@main.command(epilog=GENERATE_EPILOG)
@click.option("--view", type=click.Choice(["topdown", "robot", "human", "flat"]),
              help="Camera viewpoint preset (required, here or in the recipe).")
@click.option("--assets", multiple=True, type=click.Path(path_type=Path),
              help="PSD files, folders of PSDs, PNG class folders or photo+mask pairs "
                   "(repeatable). Default: the embedded demo pack.")
@click.option("--backgrounds", type=click.Path(path_type=Path),
              help="Folder with floors/, backdrops/ and/or scene photos. Default: embedded.")
@click.option("--classes", type=click.Path(path_type=Path),
              help="Class catalog YAML. Default: assets/classes.yaml.")
@click.option("-n", "n", type=int, help="Number of images.  [default: 200]")
@click.option("--out", type=click.Path(path_type=Path),
              help="Output directory.  [default: data/synth-VIEW]")
@click.option("--format", "format", metavar="voc|yolo|coco",
              help="Dataset layout to write.  [default: voc]")
@click.option("--size", help="Image size WxH.  [default: 640x480]")
@click.option("--objects", help="Labelled subjects per image, MIN-MAX.  [default: 2-4]")
@click.option("--blend", type=click.Choice(["alpha", "feather", "poisson", "random"]),
              help="How subjects are blended in; random draws one per object.  [default: random]")
@click.option("--distractors", help="Unlabelled non-target subjects per image, MIN-MAX.  [default: 0-1]")
@click.option("--only", help="Restrict to these classes, comma-separated.")
@click.option("--min-visible", type=float,
              help="Visible share of a subject below which it is labelled difficult (ignored "
                   "by training and metrics), not as an object.  [default: 0.25]")
@click.option("--height", type=float, help="Camera height in metres (fixes the preset's range).")
@click.option("--pitch", type=float, help="Camera pitch below the horizon in degrees.")
@click.option("--fov", type=float, help="Horizontal field of view in degrees.")
@click.option("--split", help="Split ratios.  [default: train=0.8,val=0.2]")
@click.option("--seed", type=int, help="Seed: fixes every output byte.  [default: 0]")
@click.option("--workers", type=int, help="Worker processes.  [default: the core count]")
@click.option("--shard", help="Render only the K-th of N disjoint slices, K/N.")
@click.option("--recipe", type=click.Path(path_type=Path),
              help="YAML file holding any of these flags by name; flags given here win.")
@click.option("--effects/--no-effects", default=None,
              help="Camera effects (noise, blur, exposure, JPEG).  [default: on]")
@click.option("--capture-elev", metavar="E[,E...]",
              help="Use only subject views shot from these capture elevations (degrees; "
                   "90 = the top-down cut-outs alone).")
@click.option("--camera", type=click.Path(path_type=Path),
              help="camera.yaml of the robot's own camera (synth calibrate): its lens, "
                   "mount and jitter replace the view's camera (--view then only sets how "
                   "far subjects stand; default robot).")
@click.option("--strict-views", is_flag=True, default=None,
              help="Stop (exit 2) instead of warning when a class has no views near the "
                   "elevations the camera sees it from.")
@click.option("--match-stats", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder of real frames (no labels needed): fit the camera effects so the "
                   "set's image statistics match theirs; writes OUT/effects.yaml.")
@click.option("--check", type=click.Path(path_type=Path), metavar="DIR",
              help="Instead of rendering: verify the set in DIR (VOC, YOLO or COCO): every "
                   "image has its annotation and manifest line, boxes lie inside, the splits "
                   "cover it. Lists what is wrong and exits 2.")
@click.pass_context
def generate(ctx: click.Context, **kwargs) -> None:
    """Composite subjects onto floors with a physically right camera and write a VOC, YOLO or COCO set."""
    from .generate import generate as run
    from .recipe import config_from_options, load_recipe

    check_dir = kwargs.pop("check")
    if check_dir is not None:
        flags = {p.name: p.opts[0] for p in ctx.command.params}
        given = [flags[k] for k, v in kwargs.items() if v not in (None, ())]
        if given:
            raise InputError(f"--check DIR verifies a set and renders nothing: drop "
                             f"{' '.join(given)}")
        _check_set(check_dir)
        return
    recipe_path = kwargs.pop("recipe")
    opts = load_recipe(recipe_path) if recipe_path else {}
    for key, value in kwargs.items():
        if value is not None and value != ():
            opts[key] = list(value) if isinstance(value, tuple) else value
    cfg = config_from_options(opts)
    result = run(cfg)
    if cfg.match_stats is not None:
        click.echo(f"camera effects fitted to {cfg.match_stats}: {result.out / 'effects.yaml'} "
                   "(pass it back with --recipe)")
    if result.finalized:
        click.echo(f"wrote {result.total} images to {result.out} "
                   f"({result.written} rendered, {result.skipped} already there)")
    else:
        click.echo(f"shard {cfg.shard[0]}/{cfg.shard[1]}: {result.present} of {result.total} "
                   f"images present in {result.out} ({result.written} rendered now)")


CHECK_SHOWN = 20  # problems listed by `synth generate --check`; the rest are counted


def _check_set(directory: Path) -> None:
    from .check import check_set

    result = check_set(directory)
    if not result.problems:
        click.echo(result.summary())
        return
    for line in result.problems[:CHECK_SHOWN]:
        click.echo(line)
    more = len(result.problems) - CHECK_SHOWN
    if more > 0:
        click.echo(f"... and {more} more")
    raise InputError(f"{directory}: {len(result.problems)} problem(s) in this "
                     f"{result.layout} set (listed above)")


# --------------------------------------------------------------------------- calibrate


CALIBRATE_EPILOG = """\b
Photos to take, with the camera as mounted on the robot, at its working resolution:
  - 10-20 photos of a printed checkerboard held at varied tilts (up to ~40 deg)
    and distances, filling much of the frame and reaching into its corners; the
    whole board with its white margin in view, sharp and evenly lit.
  - one photo (--floor) of the board lying flat on the floor in front of the
    robot, all of it in view: its pose gives the mount's height, pitch and roll.
    The board must lie flat (its thickness is neglected); a big board near the
    robot is found most reliably.
--board counts INNER corners, as OpenCV does (a board of 10x7 squares is 9x6);
--square is one square's side in metres, measured on the print. A calibration
whose RMS reprojection error is over 1.0 px is refused, and so is a floor photo
over it: retake blurred or moved photos, check --board and --square.
--intrinsics takes an OpenCV FileStorage YAML/XML (camera_matrix,
distortion_coefficients) or a ROS camera_info YAML and calibrates the mount only.
--check draws the camera's floor grid (lines every 0.1 m, labelled every 0.5 m)
and horizon through its lens over a real frame: they should lie on the floor's
real lines and the real horizon.
\b
Examples:
  synth calibrate --board 9x6 --square 0.025 --floor floor.jpg --out camera.yaml board/*.jpg
  synth calibrate --fisheye --board 9x6 --square 0.025 --floor floor.jpg \\
      --out camera.yaml board/*.jpg
  synth calibrate --intrinsics ost.yaml --board 9x6 --square 0.025 --floor floor.jpg \\
      --out camera.yaml
  synth calibrate --check camera.yaml frame.jpg --out overlay.png
"""


@main.command("calibrate", epilog=CALIBRATE_EPILOG)
@click.argument("images", nargs=-1, type=click.Path(path_type=Path))
@click.option("--board", metavar="COLSxROWS", help="Inner corners of the checkerboard, e.g. 9x6.")
@click.option("--square", type=float, metavar="METRES", help="Side of one square in metres.")
@click.option("--fisheye", is_flag=True, help="OpenCV's fisheye lens model (k1..k4).")
@click.option("--floor", type=click.Path(path_type=Path), metavar="IMAGE",
              help="Photo of the board lying flat on the floor: gives the mount.")
@click.option("--intrinsics", type=click.Path(path_type=Path), metavar="FILE",
              help="Known intrinsics (OpenCV or ROS YAML): calibrate the mount only.")
@click.option("--height", type=float, metavar="M",
              help="Mount height in metres, measured by hand (instead of --floor).")
@click.option("--pitch", type=float, metavar="DEG",
              help="Mount pitch below the horizon in degrees (with --height).")
@click.option("--roll", type=float, metavar="DEG", help="Mount roll in degrees (with --height).")
@click.option("--check", type=click.Path(path_type=Path), metavar="CAMERA.yaml",
              help="Draw CAMERA.yaml's floor grid and horizon over one IMAGE.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="camera.yaml to write (with --check: the overlay .png or .jpg).")
def calibrate_command(images: tuple[Path, ...], board: str | None, square: float | None,
                      fisheye: bool, floor: Path | None, intrinsics: Path | None,
                      height: float | None, pitch: float | None, roll: float | None,
                      check: Path | None, out: Path) -> None:
    """Calibrate the robot's own camera from checkerboard photos into camera.yaml.

    Prints the RMS reprojection error, each photo's error, fx fy cx cy and the
    distortion, the mount's height, pitch and roll, then writes camera.yaml for
    `synth generate --camera`. Nothing is written when anything fails.
    """
    from .errors import InputError

    if out.is_dir():
        raise InputError(f"{out}: is a directory (--out names the file to write)")
    if check is not None:
        given = [flag for flag, value in (("--board", board), ("--square", square),
                                          ("--fisheye", fisheye or None), ("--floor", floor),
                                          ("--intrinsics", intrinsics), ("--height", height),
                                          ("--pitch", pitch), ("--roll", roll))
                 if value is not None]
        if given:
            raise InputError("--check takes CAMERA.yaml and one IMAGE only: drop "
                             + " ".join(given))
        _calibrate_check(check, images, out)
        return
    _calibrate_run(images, board, square, fisheye, floor, intrinsics, height, pitch, roll, out)


def _calibrate_check(camera_file: Path, images: tuple[Path, ...], out: Path) -> None:
    from .calibrate import check_overlay
    from .camera_file import load_camera_file
    from .errors import InputError
    from .fsio import write_bytes
    from .imageio import encode_jpeg, encode_png, read_image

    if len(images) != 1:
        raise InputError(f"--check takes one IMAGE to draw over, got {len(images)}")
    spec = load_camera_file(camera_file)
    drawn = check_overlay(spec, read_image(images[0]), name=str(images[0]))
    data = encode_jpeg(drawn, 92) if out.suffix.lower() in (".jpg", ".jpeg") else encode_png(drawn)
    try:
        write_bytes(out, data)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    click.echo(f"wrote {out} (floor grid and horizon of {camera_file} over {images[0]})")


def _calibrate_run(images: tuple[Path, ...], board: str | None, square: float | None,
                   fisheye: bool, floor: Path | None, intrinsics: Path | None,
                   height: float | None, pitch: float | None, roll: float | None,
                   out: Path) -> None:
    import re

    from .calibrate import MAX_RMS_PX, calibrate
    from .camera_file import format_camera_file
    from .errors import InputError
    from .fsio import write_text

    if board is None or square is None:
        raise InputError("give --board COLSxROWS (inner corners) and --square METRES")
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", board)
    if not match:
        raise InputError(f"--board must be COLSxROWS inner corners, e.g. 9x6, got {board!r}")
    cols, rows = int(match.group(1)), int(match.group(2))
    mount = None
    if height is not None or pitch is not None or roll is not None:
        if floor is not None:
            raise InputError("give the mount either by --floor or by --height/--pitch/--roll, "
                             "not both")
        if height is None or pitch is None:
            raise InputError("a mount measured by hand needs both --height and --pitch")
        mount = (height, pitch, 0.0 if roll is None else roll)
    elif floor is None:
        raise InputError("give --floor IMAGE (the board lying flat on the floor) for the mount, "
                         "or measure it and give --height and --pitch")
    result = calibrate(list(images), (cols, rows), square, fisheye=fisheye, floor=floor,
                       intrinsics=intrinsics, mount=mount, progress=True)
    spec = result.spec
    w, h = spec.image_size
    lines = []
    if result.rms_px is not None:
        lines.append(f"{len(result.used)} board photos ({cols}x{rows} inner corners, "
                     f"{square:g} m squares), {w}x{h}, {spec.model} lens")
        lines += [f"  {name}  {err:.3f} px" for name, err in result.per_image_px.items()]
        lines.append(f"RMS reprojection error {result.rms_px:.3f} px "
                     f"(limit {MAX_RMS_PX:.1f} px)")
    else:
        lines.append(f"intrinsics from {intrinsics}, {w}x{h}, {spec.model} lens")
    names = ("k1", "k2", "k3", "k4") if spec.model == "fisheye" else \
        ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
    lines.append(f"fx {spec.fx:.2f}  fy {spec.fy:.2f}  cx {spec.cx:.2f}  cy {spec.cy:.2f}")
    lines.append("dist " + ("  ".join(f"{n} {v:.5g}" for n, v in zip(names, spec.dist))
                            or "none"))
    if result.floor_rms_px is not None:
        lines.append(f"floor photo {floor}: RMS reprojection error {result.floor_rms_px:.3f} px")
    else:
        lines.append("mount given by hand")
    lines.append(f"height {spec.height_m:.4f} m  pitch {spec.pitch_deg:.2f} deg  "
                 f"roll {spec.roll_deg:.2f} deg")
    lines.append(f"took {result.seconds['total']:.1f} s")
    source = (f"{len(result.used)} board photos, RMS {result.rms_px:.3f} px"
              if result.rms_px is not None else f"intrinsics from {intrinsics}")
    mount_from = (f"floor photo {floor}, RMS {result.floor_rms_px:.3f} px"
                  if result.floor_rms_px is not None else "mount measured by hand")
    comment = (f"synth calibrate: {source}; {mount_from}; board {cols}x{rows} inner corners, "
               f"{square:g} m squares")
    text = format_camera_file(spec, comment)
    try:
        write_text(out, text)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    click.echo("\n".join(lines))
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()

"""The evaluation report: report.json, report.md, a self-contained report.html, and plots/.

Its sections are reusable (compare-real shows both domains' evaluations inside its own
report): `report_json` gives the machine-readable dict, `render_plots` (plots.py) the PNG
plots, `evaluation_sections` the HTML body and `report_markdown` the Markdown; the pieces
every report shares (page, figures, galleries, tables, files) are evaluation/render.py.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synth.draw import DIFFICULT_COLOUR, draw_box
from synth.imageio import encode_jpeg

from .metrics import COCO_STAT_KEYS, COCO_STAT_NAMES
from .plots import ERROR_COLOURS, render_plots
from .render import (GT_COLOUR, draw_detections, esc, fmt, html_figure,
                     html_gallery, html_header, html_page, json_ready, json_text, md_table,
                     thumbnail, write_files)
from .tide import ERROR_TYPES

if TYPE_CHECKING:  # evaluate.py writes this report: the dataclass only names a type here
    from .evaluate import Evaluation

ERROR_LABELS = {
    "cls": "wrong class (box right, label wrong)",
    "loc": "poor localisation (right class, 0.1 ≤ IoU < 0.5)",
    "both": "wrong class and poor box",
    "dupe": "duplicate of a found object",
    "bkg": "fired on background (IoU < 0.1 with every object)",
    "miss": "missed object (nothing found it)",
}


# ----------------------------------------------------------------------------- JSON
def per_class_rows(ev: Evaluation) -> list[dict]:
    """One dict per class with every per-class number of the report."""
    ap = ev.coco.class_ap()
    ap50_coco = ev.coco.class_ap(iou=0.5)
    ap75 = ev.coco.class_ap(iou=0.75)
    n_det = np.bincount(ev.dets.cls, minlength=len(ev.classes))
    rows = []
    for k, name in enumerate(ev.classes):
        f1 = ev.voc.curves[k].best_f1()
        has_gt = ev.voc.npos[k] > 0
        rows.append({
            "name": name,
            "ap50": ev.ap50(k),
            "ap": float(ap[k]) if has_gt else None,
            "ap50_coco": float(ap50_coco[k]) if has_gt else None,
            "ap75": float(ap75[k]) if has_gt else None,
            "n_gt": int(ev.voc.npos[k]),
            "n_difficult": int(np.count_nonzero(ev.gt.difficult & (ev.gt.cls == k))),
            "n_det": int(n_det[k]),
            "precision": f1["precision"], "recall": f1["recall"], "f1": f1["f1"],
            "conf": f1["conf"],
            "errors": {t: int(ev.errors.counts[t][k]) for t in ERROR_TYPES},
            "errors_all": {t: int(ev.errors.counts_all[t][k]) for t in ERROR_TYPES},
            "delta_ap50": {t: ev.errors.delta_ap[t][k] for t in ERROR_TYPES},
        })
    return rows


def report_json(ev: Evaluation, extra: dict | None = None) -> dict:
    """The machine-readable report (docs/design.md schema plus more); NaN becomes null."""
    missed, false_pos = ev.per_image()
    rows = per_class_rows(ev)
    out = {
        "map50": ev.map50,
        "map": ev.map,
        "coco_stats": [float(v) for v in ev.coco.stats],
        "coco_stat_names": list(COCO_STAT_NAMES),
        "ap_rule": "VOC2007 11-point" if ev.voc07 else "VOC2010+ all-point",
        "n_images": ev.gt.n_images,
        "n_objects": int(len(ev.gt)),
        "n_difficult": int(ev.gt.difficult.sum()),
        "n_detections": int(len(ev.dets)),
        "classes": list(ev.classes),
        "conf": ev.conf,
        "per_class": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in rows},
        "errors": {
            "counts": {t: int(ev.errors.counts[t].sum()) for t in ERROR_TYPES},
            "counts_all": {t: int(ev.errors.counts_all[t].sum()) for t in ERROR_TYPES},
            "delta_map50": dict(ev.errors.delta_map),
            "conf": ev.conf,
        },
        "confusion": {"labels": list(ev.classes) + ["background"], "rows": "true class",
                      "columns": "predicted class", "conf": ev.conf, "iou": ev.iou,
                      "matrix": ev.confusion.tolist()},
        "worst_images": [{"image": ev.voc_set.images[i].stem, "missed": int(missed[i]),
                          "false_positives": int(false_pos[i])} for i in ev.worst_images(25)],
    }
    out.update(extra or {})
    return json_ready(out)


# ----------------------------------------------------------------------------- gallery
def draw_image(ev: Evaluation, image: int, max_side: int = 480) -> bytes:
    """JPEG of one image, objects in green (missed: thick), detections >= conf in red."""
    rgb, scale = thumbnail(ev.voc_set, ev.voc_set.images[image], max_side)
    found = np.zeros(len(ev.gt), bool)
    active = ev.dets.score >= ev.conf
    found[ev.voc.best_gt[active & ev.voc.tp]] = True
    for g in np.flatnonzero(ev.gt.image == image):
        x, y, w, h = ev.gt.boxes[g] * scale
        colour = DIFFICULT_COLOUR if ev.gt.difficult[g] else GT_COLOUR
        draw_box(rgb, (x, y, x + w, y + h), colour, 1 if found[g] or ev.gt.difficult[g] else 3)
    draw_detections(rgb, ev.dets, np.flatnonzero((ev.dets.image == image) & active),
                    ev.classes, scale)
    return encode_jpeg(rgb, 85)


def gallery(ev: Evaluation, n: int = 12) -> list[tuple[str, bytes, str]]:
    """(stem, JPEG bytes, caption) of the worst images: most misses + false positives."""
    missed, false_pos = ev.per_image()
    return [(ev.voc_set.images[i].stem, draw_image(ev, i),
             f"{missed[i]} missed, {false_pos[i]} false positives")
            for i in ev.worst_images(n)]


# ----------------------------------------------------------------------------- HTML
def _fmt_coco(v: float, digits: int = 3) -> str:
    """A pycocotools number; its -1 ("no objects in this range") shows as a dash."""
    return "–" if v < 0 else f"{v:.{digits}f}"


def _ap_cell(v) -> str:
    if v is None or not math.isfinite(v):
        return "<td>–</td>"
    # Red (0) → yellow → green (1) background, light enough to read the number.
    hue = 120 * max(0.0, min(1.0, v))
    return f'<td style="background:hsl({hue:.0f},70%,85%)">{v:.3f}</td>'


def html_headline(ev: Evaluation) -> str:
    """The headline numbers as cards, and the size of what was measured."""
    s = ev.coco.stats
    cards = [(f"mAP50 ({'VOC07 11-pt' if ev.voc07 else 'VOC'})", fmt(ev.map50), True),
             ("mAP .5:.95 (COCO)", fmt(ev.map), True),
             ("AP50 (COCO)", _fmt_coco(s[1]), False), ("AP75", _fmt_coco(s[2]), False),
             ("AP small / medium / large", " / ".join(_fmt_coco(v, 2) for v in s[3:6]), False),
             ("AR100", _fmt_coco(s[8]), False)]
    body = "".join(f"<div class='card{' main' if main else ''}'><b>{esc(v)}</b>"
                   f"<span>{esc(k)}</span></div>" for k, v, main in cards)
    size = (f"{ev.gt.n_images} images · {len(ev.gt)} objects "
            f"({int(ev.gt.difficult.sum())} difficult, ignored) · {len(ev.dets)} detections")
    return f"<div class='cards'>{body}</div><div class='sub'>{esc(size)}</div>"


def html_class_table(ev: Evaluation) -> str:
    """Per-class table, worst AP50 first; each row's costliest error type is highlighted."""
    rows = per_class_rows(ev)
    rows.sort(key=lambda r: (r["ap50"] is None, r["ap50"] if r["ap50"] is not None else 0))
    head = ("<tr><th class='l' rowspan=2>class</th><th rowspan=2>AP50</th><th rowspan=2>AP</th>"
            "<th rowspan=2>AP75</th><th rowspan=2>objects</th><th rowspan=2>detections</th>"
            "<th colspan=4>at best-F1 confidence</th>"
            f"<th colspan={len(ERROR_TYPES)}>errors at conf ≥ {ev.conf:g}</th></tr>"
            "<tr><th>P</th><th>R</th><th>F1</th><th>conf</th>"
            + "".join(f"<th title='{esc(ERROR_LABELS[t])}'>{t}</th>" for t in ERROR_TYPES)
            + "</tr>")
    body = []
    for r in rows:
        gain = {t: r["delta_ap50"][t] or 0.0 for t in ERROR_TYPES}
        worst = max(ERROR_TYPES, key=lambda t: gain[t])
        errs = "".join(
            f"<td style='background:{ERROR_COLOURS[t]}40' title='fixing it: +"
            f"{100 * gain[t]:.1f} AP50 points'><b>{r['errors'][t]}</b></td>"
            if t == worst and gain[t] > 0 else f"<td>{r['errors'][t]}</td>"
            for t in ERROR_TYPES)
        body.append(f"<tr class='{'' if r['n_gt'] else 'nogt'}'><td class='l'>{esc(r['name'])}</td>"
                    f"{_ap_cell(r['ap50'])}{_ap_cell(r['ap'])}<td>{fmt(r['ap75'])}</td>"
                    f"<td>{r['n_gt']}</td><td>{r['n_det']}</td><td>{fmt(r['precision'], 2)}</td>"
                    f"<td>{fmt(r['recall'], 2)}</td><td>{fmt(r['f1'], 2)}</td>"
                    f"<td>{fmt(r['conf'], 2)}</td>{errs}</tr>")
    note = ("<p class='note'>Worst AP50 first. AP50: PASCAL VOC at IoU 0.5; AP: COCO "
            "AP@[.5:.95]. Errors (hover the headers; <a href='#errors'>details</a>): "
            "cls wrong class · loc poor box · both · dupe duplicate · bkg background · "
            "miss missed object. Highlighted: the type whose fix gains the class the most AP50.</p>")
    return f"<table>{head}{''.join(body)}</table>{note}"


def html_coco_table(stats: np.ndarray) -> str:
    """pycocotools' 12 numbers with their names."""
    rows = "".join(f"<tr><td class='l'>{esc(k)}</td><td class='l'>{esc(n)}</td>"
                   f"<td>{_fmt_coco(float(v))}</td></tr>"
                   for k, n, v in zip(COCO_STAT_KEYS, COCO_STAT_NAMES, stats))
    return f"<table><tr><th class='l'>key</th><th class='l'>pycocotools</th><th>value</th></tr>{rows}</table>"


def html_error_table(ev: Evaluation) -> str:
    """Error types: meaning, counts and the mAP50 each costs."""
    rows = "".join(
        f"<tr><td class='l'><span style='color:{ERROR_COLOURS[t]}'>■</span> {t}</td>"
        f"<td class='l'>{esc(ERROR_LABELS[t])}</td><td>{int(ev.errors.counts[t].sum())}</td>"
        f"<td>{int(ev.errors.counts_all[t].sum())}</td>"
        f"<td>{100 * ev.errors.delta_map[t]:.2f}</td></tr>" for t in ERROR_TYPES)
    return ("<table><tr><th class='l'>type</th><th class='l'>meaning</th>"
            f"<th>count at conf ≥ {ev.conf:g}</th><th>count, all detections</th>"
            f"<th>mAP50 points if fixed</th></tr>{rows}</table>")


NOTES_HTML = """<p class='note'><b>Conventions.</b> VOC boxes (1-based, inclusive) become 0-based
continuous boxes (xmin−1, ymin−1, xmax, ymax); IoU has no +1. AP50 follows the VOC2010+ devkit:
each detection is matched to its highest-IoU object of its class, a second detection on the same
object is a false positive, and <i>difficult</i> objects neither count nor penalise. The COCO
numbers are exactly pycocotools' with difficult objects as crowds (area = w×h of the box).</p>
<p class='note'><b>Why detections down to confidence 0.001?</b> AP is the area under the whole
precision–recall curve; cutting detections at a deployment threshold truncates the curve and
understates AP. Operating-point numbers (P/R/F1, confusion, error counts, gallery) use a
confidence threshold instead.</p>"""


def evaluation_sections(ev: Evaluation, plots: dict[str, bytes],
                        items: list[tuple[str, bytes, str]], level: int = 2) -> list[str]:
    """The body of an evaluation report after the header (reusable inside other reports)."""
    h = f"h{level}"
    return [
        html_headline(ev),
        html_class_table(ev),
        f"<{h}>COCO metrics (pycocotools)</{h}>", html_coco_table(ev.coco.stats),
        f"<{h}>Precision–recall per class</{h}>",
        html_figure(plots["pr_curves.png"], "PR curves"),
        f"<{h} id='errors'>Errors: what goes wrong, and what it costs</{h}>",
        html_error_table(ev),
        html_figure(plots["errors.png"], "error breakdown",
                    "Each false positive gets one type, tested in the order loc, cls, dupe, "
                    "bkg, both; misses are objects no detection found. Cost: mAP50 gained when "
                    "an oracle fixes only that type."),
        f"<{h}>Confusion matrix</{h}>",
        html_figure(plots["confusion.png"], "confusion matrix",
                    "Rows: true class; columns: predicted class; colour: share of the row. "
                    "Detections and objects are matched one-to-one across classes, highest IoU "
                    "first. Bottom row: detections on nothing; right column: missed objects."),
        f"<{h}>Worst images</{h}>",
        "<p class='note'>Most misses + false positives at conf ≥ "
        f"{ev.conf:g}. Green: objects (thick: missed; grey: difficult); red: detections.</p>",
        html_gallery(items),
        f"<{h}>Notes</{h}>", NOTES_HTML,
    ]


# ----------------------------------------------------------------------------- Markdown
def report_markdown(ev: Evaluation, title: str, lines: list[str]) -> str:
    """report.md: headline, per-class table, COCO stats, errors, confusion matrix."""
    rows = per_class_rows(ev)
    out = [f"# {title}\n", *(f"{x}  " for x in lines), "",
           f"**mAP50 ({'VOC07 11-point' if ev.voc07 else 'VOC all-point'}): {fmt(ev.map50)}**"
           f" · **mAP@[.5:.95] (COCO): {fmt(ev.map)}** · {ev.gt.n_images} images, "
           f"{len(ev.gt)} objects, {len(ev.dets)} detections\n",
           "## Per class\n",
           f"P / R / F1 at each class's best-F1 confidence; error counts at conf ≥ {ev.conf:g}.\n",
           md_table(["class", "AP50", "AP", "AP75", "objects", "dets", "P", "R", "F1", "conf",
                     *ERROR_TYPES],
                    [[r["name"], fmt(r["ap50"]), fmt(r["ap"]), fmt(r["ap75"]), r["n_gt"],
                      r["n_det"], fmt(r["precision"], 2), fmt(r["recall"], 2),
                      fmt(r["f1"], 2), fmt(r["conf"], 2),
                      *(r["errors"][t] for t in ERROR_TYPES)] for r in rows]),
           "## COCO metrics (pycocotools)\n",
           md_table(["key", "metric", "value"],
                    [[k, n, _fmt_coco(float(v))] for k, n, v in
                     zip(COCO_STAT_KEYS, COCO_STAT_NAMES, ev.coco.stats)]),
           "## Errors\n",
           md_table(["type", "meaning", f"count (conf ≥ {ev.conf:g})", "count (all)",
                     "mAP50 points if fixed"],
                    [[t, ERROR_LABELS[t], int(ev.errors.counts[t].sum()),
                      int(ev.errors.counts_all[t].sum()),
                      f"{100 * ev.errors.delta_map[t]:.2f}"] for t in ERROR_TYPES]),
           "Per-class AP50 points gained by fixing each type:\n",
           md_table(["class", *ERROR_TYPES],
                    [[r["name"], *(fmt(None if r["delta_ap50"][t] is None
                                        else 100 * r["delta_ap50"][t], 2)
                                   for t in ERROR_TYPES)] for r in rows]),
           f"## Confusion matrix (conf ≥ {ev.conf:g}, IoU ≥ {ev.iou:g}; rows true, "
           "columns predicted)\n",
           md_table(["true \\ pred", *ev.classes, "background"],
                    [[name, *ev.confusion[i].tolist()]
                     for i, name in enumerate(list(ev.classes) + ["background"])]),
           "## Plots\n",
           "![PR curves](plots/pr_curves.png)\n\n![errors](plots/errors.png)\n\n"
           "![confusion](plots/confusion.png)\n"]
    return "\n".join(out)


# ----------------------------------------------------------------------------- writing
def render_report(ev: Evaluation, title: str = "Detection evaluation",
                  lines: list[str] | None = None, extra_json: dict | None = None,
                  n_gallery: int = 12) -> dict[str, bytes]:
    """Every file of the evaluation report as {relative path: bytes}."""
    lines = list(lines or []) + [f"made {_dt.datetime.now():%Y-%m-%d %H:%M}"]
    plots = render_plots(ev)
    items = gallery(ev, n_gallery)
    page = html_page(title, [html_header(title, lines), *evaluation_sections(ev, plots, items)])
    files = {f"plots/{name}": png for name, png in plots.items()}
    files["report.md"] = report_markdown(ev, title, lines).encode("utf-8")
    files["report.html"] = page.encode("utf-8")
    files["report.json"] = json_text(report_json(ev, extra_json)).encode()
    return files


def write_report(out_dir: str | os.PathLike, ev: Evaluation, **kwargs) -> Path:
    """Render and write report.json, report.md, report.html and plots/; return report.html."""
    files = render_report(ev, **kwargs)
    write_files(out_dir, files)
    return Path(out_dir) / "report.html"

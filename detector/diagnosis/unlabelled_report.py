"""The compare-real report against unlabelled real frames: report.json, .md, .html and plots/.

Like the labelled report, the first screen answers "what differs on real frames, and which
generator knob to turn": a note that the real side has no labels (so no AP and no gap), the
per-class detection table (how often the detector fires, how confident, how large its boxes
are, in both domains), then the findings. Then per class the distributions of its
detections, and real frames with them drawn; the image-level statistics; the synthetic set's
full evaluation; a sample of real frames.
"""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np
from matplotlib.figure import Figure

from synth.imageio import encode_jpeg

from detector.evaluation.render import (draw_detections, esc, fmt, html_figure, html_gallery,
                                        html_header, html_page, json_text, md_table, png_bytes,
                                        slug, thumbnail, tick)
from detector.evaluation.report import evaluation_sections, gallery, render_plots

from .compare import ALL_CLASSES
from .report import (CSS_EXTRA, REAL_COLOUR, SYN_COLOUR, evaluation_markdown_section,
                             finding_html, findings_markdown, html_domain_table)
from .shift import DOMAIN_SHIFT, MIN_IMAGES
from .unlabelled import (DETECTION_ATTRIBUTES, DETECTION_P, DETECTION_SHIFT, MIN_DETECTIONS,
                         MIN_RATE_DETECTIONS, NO_LABELS, RATE_P, RATE_RATIO,
                         UnlabelledComparison, unlabelled_json)

CSS_UNLABELLED = ".nolabels{background:#eef4fb;border:1px solid #9ecae1;border-radius:4px;" \
                 "padding:6px 10px;margin:6px 0;max-width:1260px}"


def _g(v) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2g}"


def _active(c: UnlabelledComparison) -> list[str]:
    """Classes the detector fired on in either domain, or with synthetic objects."""
    return [r["class"] for r in c.rows if r["detections_synthetic"] or r["detections_real"]
            or r["n_synthetic_objects"]]


def _findings_of(c: UnlabelledComparison, cls: str):
    return [f for f in c.findings if f.cls == cls]


# ----------------------------------------------------------------------------- plots
def plot_detections(c: UnlabelledComparison, cls: str) -> bytes:
    """Share of each domain's detections per bin, for score, area, aspect and position.

    One matplotlib axes with a unit panel per attribute (many axes' tick machinery is slow);
    bins are equal in the attribute's analysis scale (log for area and aspect).
    """
    fig = Figure(figsize=(14, 2.9))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    d, gap = c.detections[cls], 0.3
    for i, (name, a) in enumerate(DETECTION_ATTRIBUTES.items()):
        x0 = i * (1 + gap)
        s, r = d["synthetic"].values[name], d["real"].values[name]
        s, r = a.transform(s[np.isfinite(s)]), a.transform(r[np.isfinite(r)])
        both = np.concatenate([s, r])
        lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5 * a.min_spread, hi + 0.5 * a.min_spread
        edges = np.linspace(lo, hi, 11)
        shares = [np.histogram(v, edges)[0] / max(len(v), 1) for v in (s, r)]
        top = max(max(x.max(initial=0) for x in shares), 1e-9)
        for share, colour, label, j in zip(shares, (SYN_COLOUR, REAL_COLOUR),
                                           ("synthetic", "real"), (0, 1)):
            ax.stairs(0.9 * share / top, x0 + np.linspace(0, 1, 11), baseline=0, fill=True,
                      color=colour, alpha=0.3, lw=0)
            ax.stairs(0.9 * share / top, x0 + np.linspace(0, 1, 11), baseline=None,
                      color=colour, lw=1.2)
            ax.text(x0 + 0.98, 0.95 - 0.1 * j, f"{label}: {len((s, r)[j])}", color=colour,
                    ha="right", va="top", fontsize=7.5, fontweight="bold")
        ax.plot([x0, x0 + 1, x0 + 1, x0, x0], [0, 0, 1, 1, 0], color="#888", lw=0.8)
        for u, t in ((0.0, lo), (0.5, (lo + hi) / 2), (1.0, hi)):
            ax.text(x0 + u, -0.03, tick(a.inverse(t)), ha="center", va="top", fontsize=7,
                    color="#555")
        ax.text(x0 + 0.5, -0.13, a.label + ("" if a.scale == "linear" else " (log scale)"),
                ha="center", va="top", fontsize=7.5)
        flagged = any(f.attribute == f"detection_{name}" for f in _findings_of(c, cls))
        ax.text(x0 + 0.5, 1.04, f"{name}  shift {fmt(c.shifts[cls][name].shift, 2)}"
                + ("  ◀ finding" if flagged else ""), ha="center", va="bottom", fontsize=9,
                color="#d62728" if flagged else "black",
                fontweight="bold" if flagged else "normal")
    right = 4 * (1 + gap) - gap
    ax.text(right / 2, 1.2, f"{cls}: detections with score ≥ {c.conf:g}, share per bin — "
            f"synthetic (blue) vs real frames (orange)", ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-0.1, right + 0.1)
    ax.set_ylim(-0.3, 1.35)
    return png_bytes(fig, dpi=80)


def draw_frame(c: UnlabelledComparison, image: int, cls: int | None = None,
               max_side: int = 480) -> bytes:
    """JPEG of one real frame with its detections >= conf drawn (of one class, if given)."""
    rgb, scale = thumbnail(c.frames, c.frames.images[image], max_side)
    dets = c.real_dets
    sel = (dets.image == image) & (dets.score >= c.conf)
    if cls is not None:
        sel &= dets.cls == cls
    draw_detections(rgb, dets, np.flatnonzero(sel), c.classes, scale)
    return encode_jpeg(rgb, 85)


def class_frames(c: UnlabelledComparison, cls: str, n: int) -> list[tuple[str, bytes, str]]:
    """Real frames with the most detections of a class (then the highest score)."""
    k = c.classes.index(cls)
    dets = c.real_dets
    sel = (dets.cls == k) & (dets.score >= c.conf)
    n_img = len(c.frames.images)
    count = np.bincount(dets.image[sel], minlength=n_img)
    best = np.zeros(n_img)
    np.maximum.at(best, dets.image[sel], dets.score[sel])
    order = np.lexsort((-best, -count))
    return [(c.frames.images[i].stem, draw_frame(c, int(i), k),
             f"{count[i]} {cls} detection{'' if count[i] == 1 else 's'} (best {best[i]:.2f})")
            for i in order[:max(n, 0)] if count[i] > 0]


def sample_frames(c: UnlabelledComparison, n: int) -> list[tuple[str, bytes, str]]:
    """n real frames spread evenly over the folder, every detection >= conf drawn."""
    n_img = len(c.frames.images)
    picks = np.unique(np.linspace(0, n_img - 1, min(n, n_img)).round().astype(int)) if n > 0 \
        else []
    active = c.real_dets.score >= c.conf
    return [(c.frames.images[i].stem, draw_frame(c, int(i)),
             f"{int((active & (c.real_dets.image == i)).sum())} detections")
            for i in picks]


# ----------------------------------------------------------------------------- pieces
def html_detection_table(c: UnlabelledComparison) -> str:
    """Per class: synthetic labels and recall, then the detector's behaviour in both domains."""
    head = ("<tr><th class='l' rowspan=2>class</th><th colspan=2>synthetic labels</th>"
            f"<th colspan=3>detections per image (score ≥ {c.conf:g})</th>"
            "<th colspan=2>median score</th><th colspan=2>median box area / image</th>"
            "<th class='l' rowspan=2>findings</th></tr><tr><th>objects</th><th>recall</th>"
            "<th>synthetic</th><th>real</th><th>real / syn</th><th>synthetic</th><th>real</th>"
            "<th>synthetic</th><th>real</th></tr>")
    body, gap_class = [], " class='gap'"
    for r in c.rows:
        if r["class"] not in _active(c):
            continue
        fs = _findings_of(c, r["class"])
        chips = "".join(f"<a class='chip' href='#class-{slug(r['class'])}'>"
                        f"{esc(f.attribute)}</a>" for f in fs) or "<span class='quiet'>–</span>"
        ratio = r["rate_ratio"]
        bad = ratio is not None and (ratio <= 1 / RATE_RATIO or ratio >= RATE_RATIO)
        body.append(
            f"<tr><td class='l'><a href='#class-{slug(r['class'])}'>{esc(r['class'])}</a></td>"
            f"<td>{r['n_synthetic_objects']}</td><td>{fmt(r['recall_synthetic'], 2)}</td>"
            f"<td>{fmt(r['per_image_synthetic'], 2)} ({r['detections_synthetic']})</td>"
            f"<td>{fmt(r['per_frame_real'], 2)} ({r['detections_real']})</td>"
            f"<td{gap_class if bad else ''}>{fmt(ratio, 2)}</td>"
            f"<td>{fmt(r['score_median_synthetic'], 2)}</td><td>{fmt(r['score_median_real'], 2)}</td>"
            f"<td>{_g(r['rel_area_median_synthetic'])}</td><td>{_g(r['rel_area_median_real'])}"
            f"</td><td class='l'>{chips}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _shift_table(c: UnlabelledComparison, cls: str) -> str:
    flag_style = " style='background:#fde0d0'"
    rows = []
    for name, d in c.shifts[cls].items():
        flag = any(f.attribute == f"detection_{name}" for f in _findings_of(c, cls))
        rows.append(f"<tr{flag_style if flag else ''}><td class='l'>"
                    f"{esc(name)}</td><td class='l'>{esc(d.synthetic)}</td><td class='l'>"
                    f"{esc(d.real)}</td><td>{fmt(d.shift, 2)}</td><td>{_g(d.p)}</td></tr>")
    return ("<table><tr><th class='l'>detections</th><th class='l'>synthetic</th>"
            "<th class='l'>real</th><th>shift</th><th>KS p</th></tr>" + "".join(rows)
            + "</table>")


def thresholds_html() -> str:
    """The rules a finding must pass, in words."""
    return (
        "<p class='note'><b>When is there a finding?</b> Without labels only the detector's "
        "own detections (score ≥ the operating confidence) can be compared, measured alike "
        "on the synthetic images and the real frames. <b>detection_rate</b>: a class's "
        f"detections per image differ by {RATE_RATIO:g}x or more either way, the busier "
        f"domain has at least {MIN_RATE_DETECTIONS} of them, and a Mann-Whitney test on the "
        f"per-image counts gives p ≤ {RATE_P:g}. <b>detection_score, detection_rel_area, "
        "detection_aspect, detection_y_center</b>: at least "
        f"{MIN_DETECTIONS} detections of the class in each domain, a shift of "
        f"{DETECTION_SHIFT:.1f} or more and a two-sample Kolmogorov-Smirnov test with p ≤ "
        f"{DETECTION_P:g}; real scores higher than synthetic ones are no failure. "
        f"<b>Image-level</b> statistics (image_*) are findings at a shift of "
        f"{DOMAIN_SHIFT:.1f} or more. Every finding needs {MIN_IMAGES} images in each "
        "domain. <b>Shift</b>: 1-D Wasserstein distance between the synthetic and real values "
        "divided by the real standard deviation (log scale for areas, aspects and "
        "sharpness); for detection_rate, |log2 of the rate ratio| / "
        f"log2 {RATE_RATIO:g}. Two domains drawn alike give no finding; frames of one video "
        "are not independent, so give every Nth frame of a dense sequence.</p>"
        "<p class='note'><b>Reading the detection findings.</b> A class that fires less "
        "often on real frames is either rarer there or not recognised; one that fires more "
        "often is either commoner or the target of false alarms. Label a few real frames "
        "and run compare-real --real to tell which, and to measure AP and the gap.</p>")


# ----------------------------------------------------------------------------- page
def unlabelled_markdown(c: UnlabelledComparison, title: str, lines: list[str]) -> str:
    """report.md: the no-labels note, detection table, findings, statistics, synthetic set."""
    out = [f"# {title}\n", *(f"{x}  " for x in lines), "",
           f"> **Real side unlabelled.** {NO_LABELS}\n",
           f"**mAP50 synthetic {fmt(c.syn.ev.map50, 3)} · real frames {len(c.frames.images)} "
           f"(no labels: no AP, no gap) · {len(c.findings)} findings**\n",
           *([f"> ⚠ {c.conf_warning()}\n"] if c.conf_warning() else []),
           "## Per class: what the detector does\n",
           md_table(["class", "objects syn", f"recall syn @{c.conf:g}", "det/image syn",
                     "det/frame real", "real/syn", "median score syn", "median score real",
                     "median area syn", "median area real", "findings"],
                    [[r["class"], r["n_synthetic_objects"], fmt(r["recall_synthetic"], 2),
                      fmt(r["per_image_synthetic"], 2), fmt(r["per_frame_real"], 2),
                      fmt(r["rate_ratio"], 2), fmt(r["score_median_synthetic"], 2),
                      fmt(r["score_median_real"], 2), _g(r["rel_area_median_synthetic"]),
                      _g(r["rel_area_median_real"]),
                      ", ".join(f.attribute for f in _findings_of(c, r["class"])) or "–"]
                     for r in c.rows if r["class"] in _active(c)]),
           "## Findings\n", findings_markdown(c.findings),
           "## Image-level statistics\n",
           md_table(["statistic", "synthetic", "real", "shift"],
                    [[d.name, d.synthetic, d.real, fmt(d.shift, 2)] for d in c.domain]),
           "## Detections per class\n"]
    for cls in _active(c):
        out += [f"### {cls}\n", f"![{cls}](plots/detections_{slug(cls)}.png)\n",
                md_table(["detections", "synthetic", "real", "shift", "KS p"],
                         [[n, d.synthetic, d.real, fmt(d.shift, 2), _g(d.p)]
                          for n, d in c.shifts[cls].items()])]
    out += ["## Synthetic set\n", evaluation_markdown_section(c.syn.ev, "synthetic")]
    return "\n".join(out)


def render_unlabelled(c: UnlabelledComparison, title: str = "Synthetic vs real (unlabelled)",
                      lines: list[str] | None = None, extra_json: dict | None = None,
                      n_gallery: int = 4) -> dict[str, bytes]:
    """Every file of the report as {relative path: bytes}."""
    lines = list(lines or []) + [f"made {_dt.datetime.now():%Y-%m-%d %H:%M}"]
    files: dict[str, bytes] = {}
    class_sections = []
    for cls in _active(c):
        png = plot_detections(c, cls)
        files[f"plots/detections_{slug(cls)}.png"] = png
        frames = class_frames(c, cls, n_gallery)
        class_sections += [
            f"<h2 id='class-{slug(cls)}'>{esc(cls)}</h2>",
            "".join(finding_html(f, with_class=False) for f in _findings_of(c, cls)),
            html_figure(png, f"{cls}: detection distributions"), _shift_table(c, cls),
            f"<p class='note'>Real frames with the most {esc(cls)} detections (red: score ≥ "
            f"{c.conf:g}; unverified):</p>",
            f"<div class='small'>{html_gallery(frames)}</div>" if frames else
            f"<p class='note'>The detector never fires on {esc(cls)} in the real frames at "
            "this confidence.</p>"]
    plots = render_plots(c.syn.ev)
    files.update({f"plots/synthetic/{k}": v for k, v in plots.items()})
    n_class = sum(f.cls != ALL_CLASSES for f in c.findings)
    warning = c.conf_warning()
    page = html_page(title, [
        f"<style>{CSS_EXTRA}{CSS_UNLABELLED}</style>",
        html_header(title, lines),
        f"<div class='nolabels'><b>Real side unlabelled.</b> {esc(NO_LABELS)}</div>",
        "<div class='cards'>" + "".join(
            f"<div class='card main'><b>{esc(v)}</b><span>{esc(k)}</span></div>" for k, v in (
                ("mAP50 synthetic", fmt(c.syn.ev.map50, 3)),
                ("real frames", str(len(c.frames.images))),
                (f"real detections ≥ {c.conf:g}", str(int((c.real_dets.score >= c.conf).sum()))),
                ("findings", str(len(c.findings))))) + "</div>",
        f"<div class='verdict'>{n_class} detection finding(s) and "
        f"{len(c.findings) - n_class} image-level finding(s) below.</div>"
        + (f"<div class='warn'>⚠ {esc(warning)}</div>" if warning else ""),
        html_detection_table(c),
        "<p class='note'>Objects and recall come from the synthetic labels. Detections per "
        f"image count detections with score ≥ {c.conf:g} in each domain (in brackets: how "
        "many); real / syn is their ratio. Real detections are unverified.</p>",
        "<h2>Findings: what differs on real frames</h2>",
        "".join(finding_html(f) for f in c.findings) if c.findings else
        "<p class='note'>No finding: the detector behaves alike on both domains and the "
        "image statistics match (see the thresholds at the end of the report).</p>",
        *class_sections,
        "<h2>Image-level statistics</h2>", html_domain_table(c.domain),
        f"<h2>Synthetic set: full evaluation ({esc(str(c.syn.ev.voc_set.root))})</h2>",
        *evaluation_sections(c.syn.ev, plots, gallery(c.syn.ev, 6), level=3),
        f"<h2>Real frames ({esc(str(c.frames.root))}): a sample</h2>",
        html_gallery(sample_frames(c, max(n_gallery, 1) * 2)),
        "<h2>How findings are made</h2>", thresholds_html()])
    files["report.html"] = page.encode("utf-8")
    files["report.md"] = unlabelled_markdown(c, title, lines).encode("utf-8")
    files["report.json"] = json_text(unlabelled_json(c, extra_json)).encode()
    return files

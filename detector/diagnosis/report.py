"""The compare-real report: report.json, report.md, a self-contained report.html and plots/.

The first screen answers "which classes fail on real images, and why": the per-class gap
table, then the findings. Then, per class, the PR curves of both domains and the attribute
histograms (synthetic vs real, real recall per bin) on one figure, and the worst real
failures; then image-level statistics and the two full evaluation reports.
"""
from __future__ import annotations

import datetime as _dt
import re

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from detector.evaluation.evaluate import Evaluation
from detector.evaluation.render import (esc, fmt, html_figure, html_gallery, html_header,
                                        html_page, json_text, md_table, png_bytes, slug, tick)
from detector.evaluation.report import (ERROR_LABELS, draw_image, evaluation_sections, gallery,
                                        render_plots, report_markdown as evaluation_markdown)

from .compare import ALL_CLASSES, OVERLAP, Comparison, DomainStat, Finding, comparison_json
from .shift import (ATTRIBUTES, CLASS_WIDE_SHIFT, DOMAIN_SHIFT, DOMAIN_STATS, MIN_OBJECTS,
                    MIN_REGION_MISSED, MIN_REGION_SHARE, MIN_REST_OBJECTS, MIN_SHIFT,
                    RECALL_COLLAPSE, RECALL_DROP, SYN_RARE)

SYN_COLOUR, REAL_COLOUR, RECALL_COLOUR = "#3182bd", "#e6550d", "#222222"
GAP_BAD = 0.10      # a gap this large is highlighted in the table

CSS_EXTRA = """
.verdict{font-size:15px;margin:6px 0 10px}
.warn{background:#fff3cd;border:1px solid #e0c36a;border-radius:4px;padding:4px 10px;margin:6px 0;
max-width:1260px}
.gap{font-weight:600}
.finding{background:#fff;border:1px solid #ddd;border-left:4px solid #e6550d;border-radius:4px;
padding:4px 10px;margin:5px 0;max-width:1260px}
.finding.img{border-left-color:#756bb1}
.finding .what{font-weight:600}.finding .ev{color:#333}
.finding .fix{color:#0b6e3c}.chip{display:inline-block;background:#fde0d0;border-radius:9px;
padding:0 7px;margin:0 2px;font-size:12px}
.quiet{color:#666}.finding.echo{border-left-color:#fdae6b;padding:2px 10px;font-size:13px}
.chip.echo{background:#f3f3f3;color:#777}.small .gallery img{max-width:300px}
"""


# ----------------------------------------------------------------------------- plots
def _pr_panel(ax, x0: float, y0: float, c: Comparison, cls: str) -> None:
    """Both domains' interpolated PR curves in the unit panel at (x0, y0)."""
    legend = []
    for d, colour in ((c.syn, SYN_COLOUR), (c.real, REAL_COLOUR)):
        k = d.class_index(cls)
        curve = d.ev.voc.curves[k] if k is not None else None
        if curve is None or curve.n_gt == 0:
            legend.append((f"{d.name}: no objects", colour))
            continue
        if len(curve.recall):
            p = np.maximum.accumulate(curve.precision[::-1])[::-1]
            r = np.concatenate(([0.0], curve.recall))
            p = np.concatenate(([p[0]], p))
            ax.step(x0 + r, y0 + p, where="post", color=colour, lw=1.6)
        legend.append((f"{d.name} AP50 {d.ev.voc.ap[k]:.2f}", colour))
    for i, (text, colour) in enumerate(legend):
        ax.text(x0 + 0.04, y0 + 0.1 + 0.11 * i, text, color=colour, fontsize=8,
                fontweight="bold")
    for v in (0, 0.5, 1):
        label = f"{v:g}".lstrip("0") or "0"
        ax.text(x0 - 0.025, y0 + v, label, ha="right", va="center", fontsize=7, color="#555")
        ax.text(x0 + v, y0 - 0.03, label, ha="center", va="top", fontsize=7, color="#555")
    ax.text(x0 + 0.5, y0 - 0.13, "recall", ha="center", va="top", fontsize=8)
    ax.text(x0 - 0.13, y0 + 0.5, "precision", rotation=90, ha="right", va="center", fontsize=8)
    ax.text(x0 + 0.5, y0 + 1.04, "precision–recall (IoU 0.5)", ha="center", va="bottom",
            fontsize=9)


def _attribute_panel(ax, x0: float, y0: float, a) -> None:
    """Histograms of both domains (common scale) and real recall per bin, in a unit panel."""
    spec = ATTRIBUTES[a.attr]
    h = a.hist
    syn = h.synthetic / max(h.synthetic.sum(), 1)
    real = h.real / max(h.real.sum(), 1)
    top = max(syn.max(initial=0), real.max(initial=0), 1e-9)
    B = len(syn)
    edges = np.linspace(0, 1, B + 1)          # bins are equal in the analysis scale
    if a.region is not None:
        if spec.scale == "binary":
            u = 0.5                                # between the "no" and "yes" bins
        else:
            t, lo_t, hi_t = spec.transform(np.array([a.region.cut, h.edges[0], h.edges[-1]]))
            u = float(np.clip((t - lo_t) / (hi_t - lo_t), 0, 1))
        lo, hi = (u, 1.0) if a.region.side == "high" else (0.0, u)
        ax.add_patch(Rectangle((x0 + lo, y0), hi - lo, 1, color="#d62728", alpha=0.1, lw=0))
        ax.plot([x0 + u, x0 + u], [y0, y0 + 1], color="#d62728", lw=1, ls="--")
    for share, colour in ((syn, SYN_COLOUR), (real, REAL_COLOUR)):
        ax.stairs(y0 + 0.9 * share / top, x0 + edges, baseline=y0, fill=True, color=colour,
                  alpha=0.3, lw=0)
        ax.stairs(y0 + 0.9 * share / top, x0 + edges, baseline=None, color=colour, lw=1.2)
    rec = h.real_recall
    ok = np.isfinite(rec)
    centres = (edges[:-1] + edges[1:]) / 2
    ax.plot(x0 + centres[ok], y0 + rec[ok], "o-", color=RECALL_COLOUR, ms=3, lw=1)
    ax.add_patch(Rectangle((x0, y0), 1, 1, fill=False, lw=0.8, ec="#888"))
    # x ticks in the attribute's own units: ends and middle (bin edges).
    if spec.scale == "binary":
        ticks = [(0.25, "no"), (0.75, "yes")]
    else:
        ticks = [(0.0, tick(h.edges[0])), (0.5, tick(h.edges[B // 2])),
                 (1.0, tick(h.edges[-1]))] if B % 2 == 0 else \
            [(0.0, tick(h.edges[0])), (1.0, tick(h.edges[-1]))]
    for u, text in ticks:
        ax.text(x0 + u, y0 - 0.03, text, ha="center", va="top", fontsize=7, color="#555")
    ax.text(x0 + 0.5, y0 - 0.13, spec.label + ("" if spec.scale in ("linear", "binary")
                                                 else " (log scale)"),
            ha="center", va="top", fontsize=7.5)
    for v in (0, 0.5, 1):
        ax.text(x0 + 1.02, y0 + v, f"{v:g}".lstrip("0") or "0", ha="left", va="center",
                fontsize=6.5, color=RECALL_COLOUR)
    ax.text(x0 + 0.02, y0 + 0.97, f"max {top:.0%}", ha="left", va="top", fontsize=6.5,
            color="#555")
    flag = a.region is not None
    title = f"{a.attr}  shift {a.shift:.2f}" + ("  ◀ finding" if flag else "")
    ax.text(x0 + 0.5, y0 + 1.04, title, ha="center", va="bottom", fontsize=9,
            color="#d62728" if flag else "black", fontweight="bold" if flag else "normal")


def plot_class(c: Comparison, cls: str) -> bytes:
    """PR curves of both domains, then each attribute: histograms and real recall per bin.

    All panels are drawn into one matplotlib axes (tick machinery is what makes many axes
    slow); each panel is a unit square at an offset.
    """
    cols, gap_x, gap_y = 4, 0.3, 0.42
    attrs = list(c.attributes.get(cls, {}).values())
    rows = (len(attrs) + 1 + cols - 1) // cols
    fig = Figure(figsize=(14, 2.75 * rows + 0.5))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    _pr_panel(ax, 0.0, 0.0, c, cls)
    for i, a in enumerate(attrs, start=1):
        _attribute_panel(ax, (i % cols) * (1 + gap_x), -(i // cols) * (1 + gap_y), a)
    right = cols * (1 + gap_x) - gap_x
    ax.text(right / 2, 1.22, f"{cls}: synthetic (blue) vs real (orange) share of objects per "
            f"bin; black: real recall per bin at conf ≥ {c.conf:g} (right scale); red band: "
            f"the region of a finding", ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-0.2, right + 0.1)
    ax.set_ylim(-(rows - 1) * (1 + gap_y) - 0.25, 1.36)
    return png_bytes(fig, dpi=80)


# ----------------------------------------------------------------------------- pieces
def _sorted_rows(c: Comparison) -> list[dict]:
    return sorted(c.rows, key=lambda r: (r["gap"] is None, -(r["gap"] or 0)))


def _class_order(c: Comparison) -> list[str]:
    """Classes with objects, largest gap first."""
    return [r["class"] for r in _sorted_rows(c) if r["class"] in c.attributes]


def _findings_of(c: Comparison, cls: str):
    return [f for f in c.findings if f.cls == cls]


def _gap_cell(gap) -> str:
    if gap is None:
        return "<td>–</td>"
    # 0 → white, >= 0.5 → strong red; negative (real better) → light green.
    if gap >= 0:
        a = min(1.0, gap / 0.5)
        colour = f"rgba(214,39,40,{0.1 + 0.55 * a:.2f})" if gap >= GAP_BAD else "transparent"
    else:
        colour = "rgba(44,160,44,0.15)"
    return f"<td class='gap' style='background:{colour}'>{gap:+.2f}</td>"


def _ap(v) -> str:
    if v is None:
        return "<td>–</td>"
    return f"<td style='background:hsl({120 * max(0.0, min(1.0, v)):.0f},70%,87%)'>{v:.2f}</td>"


def html_gap_table(c: Comparison) -> str:
    """The per-class table, largest gap first, with each class's finding attributes."""
    head = ("<tr><th class='l' rowspan=2>class</th><th colspan=3>AP50</th>"
            "<th colspan=2>objects</th><th colspan=2>recall at conf ≥ "
            f"{c.conf:g}</th><th colspan=3>real errors</th><th class='l' rowspan=2>why "
            "(findings)</th></tr><tr><th>synthetic</th><th>real</th><th>gap</th>"
            "<th>synthetic</th><th>real</th><th>synthetic</th><th>real</th>"
            "<th class='l'>dominant</th><th class='l'>mistaken for</th><th>missed</th></tr>")
    body = []
    for r in _sorted_rows(c):
        fs = _findings_of(c, r["class"])
        chips = "".join(f"<a class='chip{' echo' if f.overlaps else ''}' "
                        f"href='#class-{slug(r['class'])}'>{esc(f.attribute)}</a>"
                        for f in sorted(fs, key=lambda f: f.overlaps is not None))
        if not fs:
            chips = "<span class='quiet'>–</span>"
        err = r["dominant_real_error"]
        err_cell = (f"<td class='l' title='{esc(ERROR_LABELS[err])}'>{esc(err)}</td>"
                    if err else "<td class='l'>–</td>")
        mist = ", ".join(f"{esc(k)} {v}" for k, v in list(r["mistaken_for"].items())[:3])
        body.append(
            f"<tr><td class='l'><a href='#class-{slug(r['class'])}'>{esc(r['class'])}</a></td>"
            f"{_ap(r['ap50_synthetic'])}{_ap(r['ap50_real'])}{_gap_cell(r['gap'])}"
            f"<td>{r['n_synthetic']}</td><td>{r['n_real']}</td>"
            f"<td>{fmt(r['recall_synthetic'], 2)}</td><td>{fmt(r['recall_real'], 2)}</td>"
            f"{err_cell}<td class='l'>{mist or '–'}</td><td>{r['missed_real']}</td>"
            f"<td class='l'>{chips}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _verdict(c: Comparison) -> str:
    bad = [r for r in _sorted_rows(c) if r["gap"] is not None and r["gap"] >= GAP_BAD]
    n_find = sum(f.cls != ALL_CLASSES for f in c.findings)
    if not bad:
        text = (f"No class loses {GAP_BAD:.2f} AP50 or more on real images.")
    else:
        names = ", ".join(f"<b>{esc(r['class'])}</b> ({r['gap']:+.2f})" for r in bad)
        text = f"Classes that fail on real images (AP50 gap ≥ {GAP_BAD:.2f}): {names}."
    warning = c.conf_warning()
    warning = f"<div class='warn'>⚠ {esc(warning)}</div>" if warning else ""
    return (f"<div class='verdict'>{text} {n_find} class finding(s) and "
            f"{len(c.findings) - n_find} image-level finding(s) below.</div>{warning}")


def _cards(c: Comparison) -> str:
    ms, mr = c.syn.ev.map50, c.real.ev.map50
    cards = [("mAP50 synthetic", fmt(ms, 3)), ("mAP50 real", fmt(mr, 3)),
             ("gap", f"{ms - mr:+.3f}"), ("findings", str(len(c.findings)))]
    return "<div class='cards'>" + "".join(
        f"<div class='card main'><b>{esc(v)}</b><span>{esc(k)}</span></div>"
        for k, v in cards) + "</div>"


def finding_html(f, with_class: bool = True) -> str:
    """One finding as an HTML card (an echo as one compact line)."""
    img = f.cls == ALL_CLASSES
    who = ("all images · " if img else f"{esc(f.cls)} · ") if with_class else ""
    if f.overlaps:
        return (f"<div class='finding echo'><span class='what'>{who}{esc(f.attribute)}</span> "
                f"<span class='quiet'>(shift {f.shift:.2f}) — {esc(f.evidence)}</span></div>")
    return (f"<div class='finding{' img' if img else ''}'><span class='what'>{who}"
            f"{esc(f.attribute)}</span> <span class='quiet'>(shift {f.shift:.2f}; synthetic "
            f"{esc(f.synthetic)}; real {esc(f.real)})</span><br><span class='ev'>"
            f"{esc(f.evidence)}</span><br><span class='fix'>→ {esc(f.suggestion)}</span></div>")


def html_findings(c: Comparison) -> str:
    """The findings: class ones by class (largest gap first; echoes compact), then images."""
    if not c.findings:
        return ("<p class='note'>No finding: no attribute shift explains lost real recall "
                "(see the thresholds at the end of the report).</p>")
    order = {r["class"]: i for i, r in enumerate(_sorted_rows(c))}
    items = sorted(c.findings, key=lambda f: (f.cls == ALL_CLASSES, order.get(f.cls, len(order)),
                                              f.overlaps is not None, -f.missed))
    return "".join(finding_html(f) for f in items)


def real_failures(c: Comparison, cls: str, n: int) -> list[tuple[str, bytes, str]]:
    """The real images with the most missed objects (then false positives) of a class."""
    k = c.real.class_index(cls)
    if k is None or n <= 0:
        return []
    ev, gt = c.real.ev, c.real.ev.gt
    miss = (gt.cls == k) & ~gt.difficult & ~c.real.found
    active = ev.dets.score >= ev.conf
    fp = active & ev.voc.fp & (ev.dets.cls == k)
    n_img = gt.n_images
    missed = np.bincount(gt.image[miss], minlength=n_img)
    false = np.bincount(ev.dets.image[fp], minlength=n_img)
    total = np.bincount(gt.image[(gt.cls == k) & ~gt.difficult], minlength=n_img)
    order = np.lexsort((-false, -missed))
    picks = [int(i) for i in order[:n] if missed[i] + false[i] > 0]
    return [(ev.voc_set.images[i].stem, draw_image(ev, i),
             f"{missed[i]} of {total[i]} {cls} missed, {false[i]} false {cls}")
            for i in picks]


def _attribute_table(c: Comparison, cls: str) -> str:
    rows = []
    for name, a in c.attributes.get(cls, {}).items():
        flag = " style='background:#fde0d0'" if a.region is not None else ""
        rows.append(f"<tr{flag}><td class='l'>{esc(name)}</td><td class='l'>"
                    f"{esc(a.synthetic)}</td><td class='l'>{esc(a.real)}</td>"
                    f"<td>{fmt(a.shift, 2)}</td></tr>")
    return ("<table><tr><th class='l'>attribute</th><th class='l'>synthetic</th>"
            "<th class='l'>real</th><th>shift</th></tr>" + "".join(rows) + "</table>")


def html_domain_table(domain: list[DomainStat]) -> str:
    """Image-level statistics of both domains."""
    marked = " style='background:#ece7f2'"
    rows = "".join(
        f"<tr{marked if d.shift >= DOMAIN_SHIFT else ''}>"
        f"<td class='l'>{esc(DOMAIN_STATS[d.name].label)}</td><td class='l'>{esc(d.synthetic)}"
        f"</td><td class='l'>{esc(d.real)}</td><td>{fmt(d.shift, 2)}</td></tr>" for d in domain)
    return ("<table><tr><th class='l'>statistic (per image)</th><th class='l'>synthetic</th>"
            f"<th class='l'>real</th><th>shift</th></tr>{rows}</table>")


def thresholds_html() -> str:
    """The rules a finding must pass, in words."""
    return (
        "<p class='note'><b>When is there a finding?</b> For each class and attribute the "
        "real objects are split at every cut between their values, above and below. A tail "
        f"is a finding when it holds at least {MIN_REGION_SHARE:.0%} of the class's real "
        f"objects and at least {MIN_REGION_MISSED} missed ones, at most {SYN_RARE:.0%} of the "
        f"synthetic objects of the class fall in it, real recall there is at most "
        f"{RECALL_COLLAPSE:.2f} and at least {RECALL_DROP:.2f} below the recall of the "
        f"class's other real objects (its synthetic recall when fewer than "
        f"{MIN_REST_OBJECTS} lie outside), and the "
        f"attribute's shift is at least {MIN_SHIFT:.2f}. A class that fails on all its real "
        f"objects (real recall at most {RECALL_COLLAPSE:.2f} and {RECALL_DROP:.2f} below "
        f"the synthetic one) has no healthy real objects to compare with: its tails are "
        f"compared with the synthetic recall, for attributes shifted by "
        f"{CLASS_WIDE_SHIFT:.1f} or more. Classes with fewer than "
        f"{MIN_OBJECTS} objects in either domain are not judged. The tail with the most "
        f"missed objects is reported; a finding with {OVERLAP:.0%} of its misses already in "
        f"a stronger finding of the class is shown as its echo. <b>Shift</b>: 1-D "
        f"Wasserstein distance between the synthetic and real values divided by the real "
        f"standard deviation, on a log scale for rel_area, aspect and sharpness. An "
        f"image-level statistic is a finding at a "
        f"shift of {DOMAIN_SHIFT:.1f} or more. A recalled object is matched by a detection "
        f"with score ≥ conf at IoU ≥ 0.5 (VOC matching).</p>"
        "<p class='note'><b>Attributes.</b> rel_area: box area / image area; aspect: box "
        "height / width; y_center: box centre row / image height (0 top, 1 bottom; in a "
        "robot's view a proxy for distance); brightness / contrast: mean / standard "
        "deviation of the grey crop; sharpness: variance of the Laplacian of the grey crop; "
        "truncated: the VOC flag. Difficult objects are left out.</p>")


# ----------------------------------------------------------------------------- page
def _demote(md: str, plot_dir: str) -> str:
    """An evaluate report.md as a subsection: headings one level down, plots re-pointed."""
    md = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", md, flags=re.M)
    return md.replace("](plots/", f"](plots/{plot_dir}/")


def comparison_markdown(c: Comparison, title: str, lines: list[str]) -> str:
    """report.md: gap table, findings, image statistics, then both evaluations."""
    rows = _sorted_rows(c)
    out = [f"# {title}\n", *(f"{x}  " for x in lines), "",
           f"**mAP50 synthetic {fmt(c.syn.ev.map50, 3)} · real {fmt(c.real.ev.map50, 3)} · "
           f"gap {c.syn.ev.map50 - c.real.ev.map50:+.3f}**\n",
           *([f"> ⚠ {c.conf_warning()}\n"] if c.conf_warning() else []),
           "## Per class (largest gap first)\n",
           md_table(["class", "AP50 syn", "AP50 real", "gap", "objects syn", "objects real",
                     f"recall syn @{c.conf:g}", f"recall real @{c.conf:g}",
                     "dominant real error", "mistaken for", "findings"],
                    [[r["class"], fmt(r["ap50_synthetic"], 2), fmt(r["ap50_real"], 2),
                      "–" if r["gap"] is None else f"{r['gap']:+.2f}", r["n_synthetic"],
                      r["n_real"], fmt(r["recall_synthetic"], 2), fmt(r["recall_real"], 2),
                      r["dominant_real_error"] or "–",
                      ", ".join(f"{k} {v}" for k, v in r["mistaken_for"].items()) or "–",
                      ", ".join(f.attribute + (" (echo)" if f.overlaps else "")
                                for f in _findings_of(c, r["class"])) or "–"]
                     for r in rows]),
           "## Findings\n"]
    out += [findings_markdown(c.findings), "## Image-level statistics\n",
            md_table(["statistic", "synthetic", "real", "shift"],
                     [[d.name, d.synthetic, d.real, fmt(d.shift, 2)] for d in c.domain]),
            "## Attributes per class\n"]
    for cls in _class_order(c):
        attrs = c.attributes[cls]
        out += [f"### {cls}\n", f"![{cls}](plots/class_{slug(cls)}.png)\n",
                md_table(["attribute", "synthetic", "real", "shift"],
                         [[n, a.synthetic, a.real, fmt(a.shift, 2)] for n, a in attrs.items()])]
    out += ["## Synthetic set\n", evaluation_markdown_section(c.syn.ev, "synthetic"),
            "## Real set\n", evaluation_markdown_section(c.real.ev, "real")]
    return "\n".join(out)


def findings_markdown(findings: list[Finding]) -> str:
    """The findings as a Markdown list ("No finding." when there is none)."""
    if not findings:
        return "No finding.\n"
    out = []
    for f in findings:
        who = "all images" if f.cls == ALL_CLASSES else f.cls
        echo = f"echo of {f.overlaps}; " if f.overlaps else ""
        out.append(f"- **{who} · {f.attribute}** ({echo}shift {f.shift:.2f}; synthetic "
                   f"{f.synthetic}; real {f.real})  \n  {f.evidence}  \n  → {f.suggestion}")
    return "\n".join(out) + "\n"


def evaluation_markdown_section(ev: Evaluation, plot_dir: str) -> str:
    """One domain's evaluate report.md as a subsection (its title block dropped)."""
    md = evaluation_markdown(ev, "x", [])
    return _demote(md.split("\n", 2)[2], plot_dir)


def render_comparison(c: Comparison, title: str = "Synthetic vs real",
                      lines: list[str] | None = None, extra_json: dict | None = None,
                      n_gallery: int = 4) -> dict[str, bytes]:
    """Every file of the compare-real report as {relative path: bytes}."""
    lines = list(lines or []) + [f"made {_dt.datetime.now():%Y-%m-%d %H:%M}"]
    files: dict[str, bytes] = {}
    class_sections = []
    for cls in _class_order(c):
        png = plot_class(c, cls)
        files[f"plots/class_{slug(cls)}.png"] = png
        row = next(r for r in c.rows if r["class"] == cls)
        gap = "" if row["gap"] is None else f" — AP50 gap {row['gap']:+.2f}"
        fails = real_failures(c, cls, n_gallery)
        class_sections += [
            f"<h2 id='class-{slug(cls)}'>{esc(cls)}{esc(gap)}</h2>",
            "".join(finding_html(f, with_class=False) for f in _findings_of(c, cls)),
            html_figure(png, f"{cls}: PR curves and attribute histograms"),
            _attribute_table(c, cls),
            "<p class='note'>Worst real failures (green: objects, thick when missed; red: "
            f"detections with score ≥ {c.conf:g}):</p>",
            f"<div class='small'>{html_gallery(fails)}</div>" if fails else
            "<p class='note'>No real failure of this class at this confidence.</p>"]
    domain_sections = []
    for d, key in ((c.syn, "synthetic"), (c.real, "real")):
        plots = render_plots(d.ev)
        files.update({f"plots/{key}/{k}": v for k, v in plots.items()})
        secs = evaluation_sections(d.ev, plots, gallery(d.ev, 6), level=3)
        secs = [s.replace("id='errors'", f"id='errors-{key}'")
                .replace("href='#errors'", f"href='#errors-{key}'") for s in secs]
        domain_sections += [f"<h2>{key.capitalize()} set: full evaluation "
                            f"({esc(str(d.ev.voc_set.root))})</h2>", *secs]
    page = html_page(title, [
        f"<style>{CSS_EXTRA}</style>",
        html_header(title, lines), _cards(c), _verdict(c),
        html_gap_table(c),
        "<p class='note'>Largest gap first. Recall: share of objects found by a detection "
        f"with score ≥ {c.conf:g} at IoU ≥ 0.5. Dominant real error: the error type whose fix "
        "would gain the class the most real AP50. Mistaken for: classes its real objects were "
        "detected as (confusion matrix); missed: real objects nothing found.</p>",
        "<h2>Findings: why real images fail</h2>", html_findings(c),
        *class_sections,
        "<h2>Image-level statistics</h2>", html_domain_table(c.domain),
        *domain_sections,
        "<h2>How findings are made</h2>", thresholds_html()])
    files["report.html"] = page.encode("utf-8")
    files["report.md"] = comparison_markdown(c, title, lines).encode("utf-8")
    files["report.json"] = json_text(comparison_json(c, extra_json)).encode()
    return files

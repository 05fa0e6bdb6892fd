"""What a training run writes into its run directory, besides checkpoints (docs/design.md,
"Run directory"): config.yaml, metrics.csv (rewritten every epoch), TensorBoard events/,
plots/ (loss, lr, mAP) and, when the run finishes, a row of the experiment log
`<runs>/index.csv` (detector.experiments.runlog)."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml
from matplotlib.figure import Figure
from torch.utils.tensorboard import SummaryWriter

from synth import fsio

from detector.experiments import runlog

from .config import TrainConfig

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["epoch", "lr", "batch", "accumulate", "frozen", "loss_box", "loss_obj",
                  "loss_cls", "loss_total", "map50", "map", "images_per_s", "seconds",
                  "oom_retries"]


class RunOutputs:
    """The files of one run directory (rank 0 only)."""

    def __init__(self, run_dir: Path, cfg: TrainConfig):
        self.run_dir, self.cfg = Path(run_dir), cfg
        self.writer: SummaryWriter | None = None   # opened with the first epoch's row

    def write_config(self, derived: dict) -> None:
        """config.yaml: every setting, and what the run derived from them and the data."""
        text = yaml.safe_dump({**self.cfg.to_dict(), "derived": derived}, sort_keys=False)
        fsio.write_text(self.run_dir / "config.yaml", text)

    def log_epoch(self, history: list[dict]) -> None:
        """metrics.csv with every epoch so far; the last row to TensorBoard and the log."""
        lines = [",".join(METRIC_COLUMNS)]
        for r in history:
            lines.append(",".join("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(
                r[c], float) else str(r[c])) for c in METRIC_COLUMNS))
        fsio.write_text(self.run_dir / "metrics.csv", "\n".join(lines) + "\n")
        row = history[-1]
        if self.writer is None:
            self.writer = SummaryWriter(str(self.run_dir / "events"))
        e = row["epoch"]
        for k in ("loss_box", "loss_obj", "loss_cls", "loss_total"):
            self.writer.add_scalar(f"train/{k[5:]}", row[k], e)
        self.writer.add_scalar("train/lr", row["lr"], e)
        self.writer.add_scalar("train/images_per_s", row["images_per_s"], e)
        if "map50" in row:
            self.writer.add_scalar("val/mAP50", row["map50"], e)
            self.writer.add_scalar("val/mAP", row["map"], e)
        self.writer.flush()
        val = f"  mAP50 {row['map50']:.4f}  mAP {row['map']:.4f}" if "map50" in row else ""
        log.info("epoch %d/%d  loss %.4f (box %.4f obj %.4f cls %.4f)  lr %.2e  %.1f img/s%s",
                 e, self.cfg.epochs, row["loss_total"], row["loss_box"], row["loss_obj"],
                 row["loss_cls"], row["lr"], row["images_per_s"], val)

    def write_plots(self, history: list[dict]) -> None:
        """plots/loss.png, lr.png and map.png over the epochs so far."""
        ep = [r["epoch"] for r in history]
        plots = self.run_dir / "plots"
        plots.mkdir(exist_ok=True)

        def save(fig: Figure, name: str) -> None:
            fig.tight_layout()
            with fsio.atomic_path(plots / name) as tmp:
                fig.savefig(tmp, format="png", dpi=100)

        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        for k in ("box", "obj", "cls", "total"):
            ax.plot(ep, [r[f"loss_{k}"] for r in history], label=k)
        ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss")
        ax.legend()
        save(fig, "loss.png")
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        ax.plot(ep, [r["lr"] for r in history])
        ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="lr")
        save(fig, "lr.png")
        vals = [r for r in history if "map50" in r]
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        ax.plot([r["epoch"] for r in vals], [r["map50"] for r in vals], "o-", label="mAP50")
        ax.plot([r["epoch"] for r in vals], [r["map"] for r in vals], "o-", label="mAP")
        ax.set(xlabel="epoch", ylabel="validation", ylim=(0, 1), title="mAP")
        ax.legend()
        save(fig, "map.png")

    def log_run(self, epochs: int, best: dict) -> None:
        """The run's row in the experiment log beside the run directory."""
        runlog.append_run(self.run_dir.parent / "index.csv", runlog.make_row(
            run=self.run_dir.name, run_dir=str(self.run_dir), config=self.cfg.to_dict(),
            epochs=epochs, map50=best.get("map50"), map=best.get("map"),
            ap50=best.get("ap50") or {}))

    def logged(self) -> bool:
        """True if the experiment log already has this run's row."""
        return runlog.has_run(self.run_dir.parent / "index.csv", self.run_dir)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

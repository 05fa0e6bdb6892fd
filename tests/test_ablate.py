"""pipeline ablate: identical image budget, mixtures by share, factorial cells, resume without
retraining, paired bootstrap CIs, results.json schema, bad input. The trainer and the model
are mocked (orchestration is what is tested); the bootstrap is checked against the one
metrics implementation on explicitly duplicated sets."""
from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from detector.experiments.ablate import (AblateConfig, MatchTable, Regime, EvalSet, bootstrap_counts,
                             cycle_draws, expand_factorial, paired_bootstrap_ci,
                             parse_factorial, parse_regime, resampled_map50, run_ablation,
                             split_counts)
from detector.data.sets import read_sets
from detector.evaluation.detections import Detections
from detector.evaluation.evaluate import evaluate
from detector.training.config import TrainConfig
from pipeline import main
from synth.imageio import encode_jpeg
from synth.voc import VocImage, VocObject, VocSet, read_voc_set
from tests.helpers import write_voc_set

CLASSES = ["box", "pole"]


def make_voc(root: Path, n: int, prefix: str = "im", train: int | None = None,
             seed: int = 0) -> Path:
    """A VOC set of n 64x48 images, 1-2 objects each; `train` first images in train.txt."""
    rng = np.random.default_rng(seed)
    jpg = encode_jpeg(np.full((48, 64, 3), 128, np.uint8))
    images = []
    for i in range(n):
        objs = []
        for _ in range(1 + i % 2):
            x, y = rng.integers(1, 30), rng.integers(1, 20)
            objs.append(VocObject(CLASSES[int(rng.integers(2))], (x, y, x + 20, y + 20)))
        images.append((f"{prefix}{i:03d}", jpg, objs, (64, 48)))
    stems = [im[0] for im in images]
    splits = {"train": stems[:train], "val": stems[train:]} if train is not None else None
    return write_voc_set(root, images, CLASSES, splits)


class FakeTrainer:
    """Stands in for detector.train.train: records each config and what it would read."""

    def __init__(self, stop: set[str] | None = None):
        self.calls = []
        self.stop = stop or set()

    def __call__(self, tc):
        run_dir = Path(tc.run_dir or tc.resume)
        run_dir.mkdir(parents=True, exist_ok=True)
        data = read_sets(tc.data, role="train") if tc.data else None
        self.calls.append(SimpleNamespace(cfg=tc, run=run_dir.name,
                                          stems=list(data.stems) if data else None))
        (run_dir / "last.pt").write_bytes(b"x")
        finished = run_dir.name not in self.stop
        if finished:
            (run_dir / "best.pt").write_text(run_dir.name)
        return SimpleNamespace(finished=finished, run_dir=run_dir)


def fake_detect(quality: dict[str, float]):
    """Detections on every object, true with probability quality[regime], else shifted away."""
    def detect(ckpt: Path, voc_set: VocSet, device, progress) -> Detections:
        regime, seed = ckpt.parent.name.rsplit("-s", 1)
        rng = np.random.default_rng(int(seed))
        image, cls, boxes, score = [], [], [], []
        for i, im in enumerate(voc_set.images):
            for o in im.objects:
                x0, y0, x1, y1 = o.bbox
                hit = rng.random() < quality[regime]
                dx = 0 if hit else 40
                image.append(i)
                cls.append(voc_set.classes.index(o.name))
                boxes.append([x0 - 1 + dx, y0 - 1, x1 - x0 + 1, y1 - y0 + 1])
                score.append(rng.random())
        return Detections(np.array(image), np.array(cls), np.array(boxes, float),
                          np.array(score))
    return detect


def config(tmp_path: Path, regimes: list[Regime], **kw) -> AblateConfig:
    test = make_voc(tmp_path / "test", 30, "t", seed=9) if not (tmp_path / "test").exists() \
        else tmp_path / "test"
    base = dict(regimes=regimes, tests=[EvalSet("real", test)], out=tmp_path / "out",
                seeds=[0, 1], n_boot=200)
    train = dict(model="yolov3-tiny", epochs=3, batch_size=4, img_size=64, workers=0,
                 progress=False)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    train.update({k: v for k, v in kw.items() if k in names})
    base.update({k: v for k, v in kw.items() if k not in names})
    return AblateConfig(**base, train=TrainConfig(**train))


# ----------------------------------------------------------------------------- budget
def test_every_regime_sees_the_same_number_of_images(tmp_path):
    small = make_voc(tmp_path / "small", 5, "s")                # no split: all 5 train
    big = make_voc(tmp_path / "big", 30, "b", train=23)          # 23 train, 7 val
    regimes = [Regime("small", "dir", small), Regime("big", "dir", big),
               parse_regime("mix=small:0.9+big:0.1")]
    trainer = FakeTrainer()
    cfg = config(tmp_path, regimes, seeds=[0])
    res = run_ablation(cfg, train_fn=trainer, detect_fn=fake_detect(
        {"small": 0.5, "big": 0.5, "mix": 0.5}))
    assert [c.run for c in trainer.calls] == ["small-s0", "big-s0", "mix-s0"]
    # What the real data reader hands the trainer: 23 images per epoch for every regime.
    assert [len(c.stems) for c in trainer.calls] == [23, 23, 23]
    assert {c.cfg.epochs for c in trainer.calls} == {3}
    assert res["budget"] == {"images_per_epoch": 23, "epochs": 3, "images": 69,
                             "steps": 18, "batch_size": 4}
    # The small set is shown in whole cycles: each image 4 or 5 times (23 = 4 x 5 + 3).
    per_image = Counter(trainer.calls[0].stems)
    assert len(per_image) == 5 and sorted(per_image.values()) == [4, 4, 5, 5, 5]
    # The big regime is its train split exactly once (val images never drawn).
    assert sorted(trainer.calls[1].stems) == [f"big__b{i:03d}" for i in range(23)]
    # The mixture: 21 of 23 draws from small (0.9 x 23 = 20.7), 2 from big.
    parts = Counter(s.split("__")[0] for s in trainer.calls[2].stems)
    assert parts == {"small": 21, "big": 2}
    # Identical hyper-parameters apart from data, run dir, note.
    def hp(c):
        d = c.cfg.to_dict()
        return {k: v for k, v in d.items() if k not in ("data", "run_dir", "note")}
    assert hp(trainer.calls[0]) == hp(trainer.calls[1]) == hp(trainer.calls[2])
    # One class list for every model, whatever a regime contains.
    assert all(read_voc_set(c.cfg.data[0]).classes == CLASSES for c in trainer.calls)


def test_budget_override_and_seeds(tmp_path):
    a = make_voc(tmp_path / "a", 6, "a")
    trainer = FakeTrainer()
    cfg = config(tmp_path, [Regime("a", "dir", a)], seeds=[3, 5], images_per_epoch=10)
    run_ablation(cfg, train_fn=trainer, detect_fn=fake_detect({"a": 0.5}))
    assert [(c.run, c.cfg.seed, len(c.stems)) for c in trainer.calls] == \
        [("a-s3", 3, 10), ("a-s5", 5, 10)]


def test_mixtures_draw_by_share():
    assert split_counts(1000, [0.9, 0.1]) == [900, 100]
    assert split_counts(23, [0.9, 0.1]) == [21, 2]
    assert split_counts(7, [1, 1, 1]) == [3, 2, 2]
    assert split_counts(10, [3, 1]) == [8, 2]          # shares are normalised (7.5 -> 8)
    rng = np.random.default_rng(0)
    draws = cycle_draws(4, 10, rng)
    assert sorted(Counter(draws.tolist()).values()) == [2, 2, 3, 3]
    assert parse_regime("m=a:0.9+b:0.1").parts == (("a", 0.9), ("b", 0.1))


# ----------------------------------------------------------------------------- factorial
def test_factorial_expands_to_four_regimes_with_the_right_sources(tmp_path):
    from synth.recipe import config_from_options, load_recipe

    for name in ("pseudo", "halfreal"):
        (tmp_path / name).mkdir()
        (tmp_path / f"{name}.yaml").write_text(f"view: robot\nassets: {name}\nn: 7\n")
    for name in ("studio", "home"):
        (tmp_path / "bg" / name).mkdir(parents=True)
    subjects, backgrounds = parse_factorial(
        [f"backgrounds={tmp_path / 'bg/studio'},{tmp_path / 'bg/home'}",
         f"subjects={tmp_path / 'pseudo.yaml'},{tmp_path / 'halfreal.yaml'}"])
    regimes, design = expand_factorial(subjects, backgrounds)
    assert [r.name for r in regimes] == ["pseudo@studio", "pseudo@home", "halfreal@studio",
                                         "halfreal@home"]
    assert design["cells"] == {"pseudo": {"studio": "pseudo@studio", "home": "pseudo@home"},
                               "halfreal": {"studio": "halfreal@studio",
                                            "home": "halfreal@home"}}
    for r in regimes:
        subj, bg = r.name.split("@")
        opts = load_recipe(r.path)
        opts.update(r.overrides)
        gen = config_from_options(opts)
        assert [p.resolve() for p in gen.assets] == [(tmp_path / subj).resolve()]
        assert gen.backgrounds.resolve() == (tmp_path / "bg" / bg).resolve()
        assert gen.view == "robot" and gen.n == 7


# ----------------------------------------------------------------------------- resume
def test_rerun_of_a_finished_ablation_trains_nothing(tmp_path):
    a, b = make_voc(tmp_path / "a", 8, "a"), make_voc(tmp_path / "b", 12, "b")
    regimes = [Regime("a", "dir", a), Regime("b", "dir", b)]
    detect = fake_detect({"a": 0.3, "b": 0.9})
    first = FakeTrainer()
    res1 = run_ablation(config(tmp_path, regimes), train_fn=first, detect_fn=detect)
    assert len(first.calls) == 4
    again = FakeTrainer()
    res2 = run_ablation(config(tmp_path, regimes), train_fn=again, detect_fn=detect)
    assert again.calls == []
    assert res2["summary"] == res1["summary"]
    # A new test set on a rerun: evaluated, still nothing trained.
    other = make_voc(tmp_path / "other", 10, "o", seed=4)
    cfg = config(tmp_path, regimes, tests=[EvalSet("real", tmp_path / "test"),
                                           EvalSet("other", other)])
    res3 = run_ablation(cfg, train_fn=again, detect_fn=detect)
    assert again.calls == [] and {r["test"] for r in res3["runs"]} == {"real", "other"}


def test_interrupted_run_resumes_from_last_pt(tmp_path):
    a, b = make_voc(tmp_path / "a", 8, "a"), make_voc(tmp_path / "b", 12, "b")
    regimes = [Regime("a", "dir", a), Regime("b", "dir", b)]
    detect = fake_detect({"a": 0.3, "b": 0.9})
    killed = FakeTrainer(stop={"b-s0"})
    assert run_ablation(config(tmp_path, regimes), train_fn=killed, detect_fn=detect) == {}
    assert [c.run for c in killed.calls] == ["a-s0", "a-s1", "b-s0"]
    resumed = FakeTrainer()
    res = run_ablation(config(tmp_path, regimes), train_fn=resumed, detect_fn=detect)
    assert [c.run for c in resumed.calls] == ["b-s0", "b-s1"]
    assert resumed.calls[0].cfg.resume == tmp_path / "out" / "runs" / "b-s0"
    assert resumed.calls[1].cfg.resume is None
    assert len(res["runs"]) == 4


def test_changed_settings_in_the_same_out_are_refused(tmp_path):
    from synth.errors import InputError

    a = make_voc(tmp_path / "a", 8, "a")
    detect = fake_detect({"a": 0.5})
    run_ablation(config(tmp_path, [Regime("a", "dir", a)]), train_fn=FakeTrainer(),
                 detect_fn=detect)
    with pytest.raises(InputError, match="epochs"):
        run_ablation(config(tmp_path, [Regime("a", "dir", a)], epochs=5),
                     train_fn=FakeTrainer(), detect_fn=detect)


# ----------------------------------------------------------------------------- bootstrap
def random_case(n_images: int, seed: int):
    """A VOC set with 1-3 objects per image and noisy detections (some hits, some misses)."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n_images):
        objs = []
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.integers(1, 200, size=2)
            objs.append(VocObject(CLASSES[int(rng.integers(2))], (int(x), int(y), int(x) + 30,
                                                                  int(y) + 30),
                                  difficult=bool(rng.random() < 0.1)))
        images.append(VocImage(f"im{i}", f"im{i}.jpg", 256, 256, 3, objs))
    voc = VocSet(Path("."), CLASSES, images)
    image, cls, boxes, score = [], [], [], []
    for i, im in enumerate(images):
        for o in im.objects:
            for _ in range(int(rng.integers(0, 3))):
                jitter = rng.normal(0, 8, size=2)
                image.append(i)
                cls.append(CLASSES.index(o.name) if rng.random() < 0.8 else 1 -
                           CLASSES.index(o.name))
                boxes.append([o.bbox[0] - 1 + jitter[0], o.bbox[1] - 1 + jitter[1], 31, 31])
                score.append(rng.random())
    dets = Detections(np.array(image), np.array(cls), np.array(boxes, float), np.array(score))
    return voc, dets


def test_resampled_map50_matches_evaluate_on_duplicated_sets():
    voc, dets = random_case(40, seed=1)
    table = MatchTable.from_evaluation(evaluate(voc, dets))
    assert resampled_map50(table, np.ones((1, 40)))[0] == pytest.approx(evaluate(voc, dets).map50,
                                                                         abs=1e-12)
    # One resample, built for real: image i copied counts[i] times.
    counts = bootstrap_counts(40, 3, seed=5)
    for row in counts:
        images, det_parts = [], []
        for i, c in enumerate(row):
            for _ in range(c):
                sel = dets.image == i
                det_parts.append((np.full(sel.sum(), len(images)), dets.cls[sel],
                                  dets.boxes[sel], dets.score[sel]))
                images.append(voc.images[i])
        dup = VocSet(Path("."), CLASSES, images)
        dd = Detections(*(np.concatenate(p) for p in zip(*det_parts)))
        expected = evaluate(dup, dd).map50
        assert resampled_map50(table, row[None])[0] == pytest.approx(expected, abs=1e-9)


def synthetic_table(hit_rate: float, n_images: int, rng: np.random.Generator) -> MatchTable:
    """One object per image; found (TP, high score) with probability hit_rate, plus one FP."""
    hits = rng.random(n_images) < hit_rate
    image = np.concatenate([np.flatnonzero(hits), np.arange(n_images)])
    tp = np.concatenate([np.ones(hits.sum(), bool), np.zeros(n_images, bool)])
    score = np.concatenate([rng.uniform(0.5, 1.0, hits.sum()), rng.uniform(0.0, 0.7, n_images)])
    n_pos = np.zeros((n_images, 1), np.int64)
    n_pos[:, 0] = 1
    return MatchTable(image, np.zeros(len(image), np.int64), score, tp, n_pos, ["box"])


def test_bootstrap_ci_excludes_zero_for_a_real_difference_and_includes_it_for_none():
    rng = np.random.default_rng(0)
    n = 200
    good = [synthetic_table(0.8, n, rng) for _ in range(2)]
    bad = [synthetic_table(0.5, n, rng) for _ in range(2)]
    lo, hi = paired_bootstrap_ci(good, bad, n_boot=1000)
    assert hi < 0, (lo, hi)                          # planted: about -0.3
    same = [synthetic_table(0.8, n, rng) for _ in range(2)]
    lo, hi = paired_bootstrap_ci(good, same, n_boot=1000)
    assert lo < 0 < hi, (lo, hi)
    lo, hi = paired_bootstrap_ci(good, good, n_boot=1000)
    assert lo == hi == 0.0                           # paired: a regime against itself


def test_bootstrap_is_vectorised_fast():
    import time

    voc, dets = random_case(400, seed=2)
    table = MatchTable.from_evaluation(evaluate(voc, dets))
    t0 = time.perf_counter()
    paired_bootstrap_ci([table], [table], n_boot=1000)
    assert time.perf_counter() - t0 < 10


# ----------------------------------------------------------------------------- outputs
def test_results_files_and_schema(tmp_path):
    a, b = make_voc(tmp_path / "a", 8, "a"), make_voc(tmp_path / "b", 12, "b")
    cfg = config(tmp_path, [Regime("a", "dir", a), Regime("b", "dir", b)], n_boot=300)
    res = run_ablation(cfg, train_fn=FakeTrainer(), detect_fn=fake_detect({"a": 0.2, "b": 0.95}))
    out = tmp_path / "out"
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["regimes"] == ["a", "b"] and on_disk["tests"] == ["real"]
    assert len(on_disk["runs"]) == 4
    for r in on_disk["runs"]:
        assert set(r) >= {"regime", "seed", "test", "map50", "map", "per_class"}
        assert set(r["per_class"]) == set(CLASSES)
    assert [(s["regime"], s["test"]) for s in on_disk["summary"]] == [("a", "real"),
                                                                       ("b", "real")]
    for s in on_disk["summary"]:
        assert set(s) >= {"regime", "test", "map50_mean", "map50_std", "ci95_vs_first"}
        assert len(s["ci95_vs_first"]) == 2
    sa, sb = on_disk["summary"]
    assert sa["ci95_vs_first"] == [0.0, 0.0]
    runs_b = [r["map50"] for r in on_disk["runs"] if r["regime"] == "b"]
    assert sb["map50_mean"] == pytest.approx(np.mean(runs_b))
    assert sb["map50_std"] == pytest.approx(np.std(runs_b, ddof=1))
    assert sb["map50_mean"] > sa["map50_mean"] and sb["ci95_vs_first"][0] > 0
    md = (out / "results.md").read_text()
    assert "± " in md and "95% CI" in md
    assert re.search(r"\| b \| [0-9.]+ ± [0-9.]+ \|", md)
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("regime,test,n_seeds,map50_mean,map50_std")
    assert len(csv_lines) == 3
    for r in ("a", "b"):
        assert (out / "plots" / f"ap50_{r}.png").read_bytes()[:4] == b"\x89PNG"
    assert [x["map50_mean"] for x in res["summary"]] == [x["map50_mean"]
                                                         for x in on_disk["summary"]]


# ----------------------------------------------------------------------------- CLI
def run_cli(*args):
    return CliRunner().invoke(main, ["ablate", *args])


@pytest.mark.parametrize("args, message", [
    (["--regime", "flat", "--test", "t=."], "expected NAME=DIR"),
    (["--regime", "a=/no/such/dir", "--test", "t=."], "no such directory or recipe"),
    (["--regime", "a=.", "--test", "t=/no/such/dir"], "no such dataset folder"),
    (["--regime", "a=.", "--regime", "m=a:0.5+zzz:0.5", "--test", "t=."], "'zzz' is not a"),
    (["--regime", "a=.", "--regime", "m=a:-1+b:2", "--test", "t=."], "must be a positive"),
    (["--regime", "a=.", "--test", "t=.", "--seeds", "x"], "--seeds"),
    (["--regime", "a=.", "--regime", "a=.", "--test", "t=."], "name used twice"),
    (["--regime", "a=."], "at least one --test"),
    (["--test", "t=."], "at least one --regime"),
    (["--factorial", "subjects=x.yaml", "colours=a", "--test", "t=."], "--factorial"),
    (["--regime", "a=.", "--test", "t=.", "--train-option", "seed=3"], "set by ablate"),
    (["--regime", "a=.", "--test", "t=.", "--train-option", "nonsense=3"], "not a training"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    r = run_cli(*args, "--out", str(tmp_path / "out"))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr


def test_bad_training_option_value_fails_before_training(tmp_path):
    a = make_voc(tmp_path / "a", 4, "a")
    t = make_voc(tmp_path / "t", 4, "t")
    r = run_cli("--regime", f"a={a}", "--test", f"t={t}", "--train-option", "optimizer=nope",
                "--out", str(tmp_path / "out"))
    assert r.exit_code == 2 and "--optimizer nope" in r.stderr
    assert not (tmp_path / "out" / "runs" / "a-s0").exists()

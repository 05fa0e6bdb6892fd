"""pipeline demo: the whole loop end to end at smoke sizes (real generation, real training of
one tiny step per regime, real compare-real); a rerun trains nothing."""
from __future__ import annotations

import json

from click.testing import CliRunner

from detector.experiments.demo import REGIME_VIEWS, REGIMES, SMOKE, write_recipes
from pipeline import main
from synth.recipe import config_from_options, load_recipe


def test_recipes_keep_the_stand_in_apart_from_training():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        paths = write_recipes(Path(d), SMOKE)
        cfgs = {k: config_from_options(load_recipe(p)) for k, p in paths.items()}
    assert set(cfgs) == {*REGIMES, "standin"}
    stand_in = cfgs.pop("standin")
    assert stand_in.view == "robot" and stand_in.split == {"test": 1.0}
    assert [p.parts[-2:] for p in stand_in.assets] == [("heldout", "subjects")]
    assert stand_in.backgrounds.name == "heldout"
    for name, c in cfgs.items():
        assert (c.view, c.capture_elev) == REGIME_VIEWS[name]
        assert "heldout" not in {*str(c.backgrounds).split("/"), *(q for p in c.assets
                                                                  for q in p.parts)}


def test_demo_smoke_end_to_end_and_rerun(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--smoke", "--out", str(out), "--workers", "2"])
    assert r.exit_code == 0, r.output + r.stderr
    for name in REGIMES:
        assert name in r.output
    assert "STAND-IN" in r.output and "REAL photos of dog poop" in r.output
    res = json.loads((out / "ablation" / "results.json").read_text())
    assert res["regimes"] == list(REGIMES) and res["tests"] == ["standin", "real-poop"]
    assert len(res["runs"]) == 2 * len(REGIMES)  # every run on both test sets
    assert len({tuple(sorted(x["draws_per_epoch"].values())) for x in
                res["regime_info"].values()}) == 1      # one budget
    report = json.loads((out / "compare-real" / "report.json").read_text())
    assert {"synthetic", "real", "gap", "findings"} <= set(report)
    assert (out / "data" / "standin-robot-heldout" / "STAND-IN_NOT_REAL.txt").is_file()

    ckpts = sorted((out / "ablation" / "runs").glob("*/last.pt"))
    assert len(ckpts) == len(REGIMES)
    stamps = [p.stat().st_mtime_ns for p in ckpts]
    again = CliRunner().invoke(main, ["demo", "--smoke", "--out", str(out), "--workers", "2"])
    assert again.exit_code == 0, again.output + again.stderr
    assert [p.stat().st_mtime_ns for p in ckpts] == stamps      # nothing retrained
    assert json.loads((out / "ablation" / "results.json").read_text())["runs"] == res["runs"]

"""The shape of the code (docs/design.md, "Layout"): one subpackage per concern, the
torch-free line held by imports, files a reader can hold in mind, no private name reached
across modules."""
from __future__ import annotations

import ast
import importlib
import importlib.abc
import pkgutil
import sys

from tests.helpers import ROOT

TORCH_FREE = ("detector.evaluation", "detector.diagnosis", "detector.experiments")
MAX_LINES = 600


class _NoTorch(importlib.abc.MetaPathFinder):
    """Refuses every import of torch, naming the module that asked."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name}: imported while importing the torch-free subpackages")
        return None


def test_torch_free_subpackages_import_without_torch():
    saved = {k: v for k, v in sys.modules.items()
             if k.split(".")[0] in ("torch", "detector")}
    for k in saved:
        del sys.modules[k]
    finder = _NoTorch()
    sys.meta_path.insert(0, finder)
    try:
        names = []
        for pkg in TORCH_FREE:
            mod = importlib.import_module(pkg)
            names.append(pkg)
            for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
                importlib.import_module(info.name)
                names.append(info.name)
        assert "torch" not in sys.modules
        assert "detector.experiments.ablate.run" in names and "detector.diagnosis.run" in names
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k.split(".")[0] in ("torch", "detector")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _modules():
    for top in ("synth", "detector"):
        yield from sorted((ROOT / top).rglob("*.py"))
    yield ROOT / "pipeline.py"


def test_no_module_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_detector_has_a_subpackage_per_concern():
    subpackages = {p.parent.name for p in (ROOT / "detector").glob("*/__init__.py")}
    assert {"model", "data", "training", "evaluation", "diagnosis",
            "experiments"} <= subpackages


def test_no_private_name_is_imported_across_modules():
    found = []
    files = [*_modules(), *sorted((ROOT / "bench").glob("*.py")),
             *sorted((ROOT / "tests").glob("*.py"))]
    for p in files:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                found += [f"{p.name}:{node.lineno} {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []

"""Shared fixtures: a tiny subject pack and backgrounds built on the fly (no downloads);
the helpers they use are in tests/helpers.py."""
from __future__ import annotations

import os
from pathlib import Path

# One math thread per process: on a 2-core box, torch's default of two threads spins
# against test subprocesses and data workers and runs training tests many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from tests.helpers import make_pack


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory) -> dict[str, Path]:
    """Textured floor, solid-colour subjects."""
    return make_pack(tmp_path_factory.mktemp("pack"))


@pytest.fixture(scope="session")
def grey_pack(tmp_path_factory) -> dict[str, Path]:
    """Uniform grey floor, solid-colour subjects: subjects can be segmented by colour."""
    return make_pack(tmp_path_factory.mktemp("greypack"), floor_value=128)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the PSD cache out of the user's home during tests."""
    monkeypatch.setenv("FLOORSYNTH_CACHE", str(tmp_path_factory.getbasetemp() / "psd-cache"))


SUBJECT_CLASSES = """\
classes:
  shoe: {size_m: [0.22, 0.32], pose: flat}
  sock: {size_m: [0.15, 0.30], pose: flat}
  fan: {size_m: [0.30, 0.60], pose: upright}
  pet_waste: {size_m: [0.05, 0.12], pose: flat}
  plant: {size_m: [0.3, 0.8], pose: upright, distractor: true}
"""


@pytest.fixture
def catalog_path(tmp_path) -> Path:
    """A five-class catalog file (one distractor) for the asset-loading tests."""
    p = tmp_path / "classes.yaml"
    p.write_text(SUBJECT_CLASSES, encoding="utf-8")
    return p


@pytest.fixture
def catalog(catalog_path):
    """The catalog_path catalog, loaded."""
    from synth.catalog import load_catalog
    return load_catalog(catalog_path)


@pytest.fixture
def psd_cache(tmp_path) -> Path:
    """A per-test PSD decode cache folder."""
    return tmp_path / "cache"

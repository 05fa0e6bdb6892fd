"""What the fuzz tests share: hypothesis strategies that mutate valid seed files (their bytes,
and the structure of YAML, JSON, XML and text label files), and the one check every mutated
run of a command must pass: exit code 0 or 2, no traceback, one `error:` line, and nothing new
on disk when it refused the input."""
from __future__ import annotations

import contextlib
import copy
import difflib
import json
import math
import shutil
import signal
import tempfile
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DELETE = object()  # a tree mutation that removes the node

# Values of the wrong type or out of any range: what a user's typo or a damaged file holds.
BAD_SCALARS = (None, True, False, 0, -1, -7.5, 10**30, -10**30, 10**400, -10**400, 1e308,
               -1e308, math.nan, math.inf, -math.inf, "", "abc", "nan", "1e999", "-1", "x" * 300,
               "é☃", [5, 10],
               [], [[1, 2]], ["a", None], {"a": 1}, {})
BAD_TOKENS = ("nan", "inf", "-inf", "-1", "1e999", "1e308", "abc", "", "99", "0.5", "-0",
              "1000000000000000000000", "1" + "0" * 400, "0x10", "é")


def fuzz_settings(n: int) -> settings:
    """Deterministic hypothesis settings for `n` generated inputs (no deadline, no database)."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


def bad_values() -> st.SearchStrategy:
    """A wrong-typed, huge, negative, NaN or empty value (or a short list/mapping of them)."""
    scalar = st.one_of(st.sampled_from(BAD_SCALARS),
                       st.integers(max_value=-1), st.integers(min_value=10**12),
                       st.floats(allow_nan=True).filter(lambda v: not abs(v) < 1e9),
                       st.text(alphabet="abcxyz019-_.é ", max_size=6))
    return st.one_of(scalar, st.lists(scalar, max_size=3),
                     st.dictionaries(st.text(alphabet="abc_", max_size=4), scalar, max_size=2))


# ----------------------------------------------------------------------------- trees (YAML, JSON)
def tree_paths(doc: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every node's path (keys and list indices), the root's () first."""
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from tree_paths(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from tree_paths(v, path + (i,))


def replaced(doc: Any, path: tuple, value: Any, key: Any = DELETE) -> Any:
    """A copy of `doc` with the node at `path` replaced by `value` (DELETE: removed), or, with
    `key`, the last key of `path` renamed to it."""
    if not path:
        return value
    out = copy.deepcopy(doc)
    parent = out
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if key is not DELETE and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    elif value is DELETE:
        del parent[last]
    else:
        parent[last] = value
    return out


EXTREMES = (0, 1, -1, 1e-300, -1e-300, 1e-9, 1e9, 1e300, -1e300, 10**30, 359.999, -90.0, 90.0)


def node_at(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def tree_mutation(draw, doc: Any) -> Any:
    """`doc` with one node replaced by a bad value, removed, or its key renamed; a number
    replaced by an extreme one (often still a valid input: the code after the reader runs)."""
    path = draw(st.sampled_from(list(tree_paths(doc))))
    kind = draw(st.sampled_from(["replace", "replace", "delete", "rename", "extreme"]))
    node = node_at(doc, path)
    if kind == "extreme" and isinstance(node, (int, float)) and not isinstance(node, bool):
        return replaced(doc, path, draw(st.sampled_from(EXTREMES)))
    if kind == "delete" and path:
        return replaced(doc, path, DELETE)
    if kind == "rename" and path and isinstance(path[-1], str):
        key = draw(st.sampled_from(["", "unknown", "--x", 5, None, path[-1].upper()]))
        return replaced(doc, path, None, key=key)
    return replaced(doc, path, draw(bad_values()))


def yaml_text(doc: Any) -> str:
    """YAML as a user writes it (block style, keys in order)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# ----------------------------------------------------------------------------- XML
@st.composite
def xml_mutation(draw, text: str) -> str:
    """VOC XML with one element's text set to a bad token, the element removed or doubled."""
    root = ET.fromstring(text)
    nodes = [(parent, child) for parent in root.iter() for child in parent]
    parent, child = draw(st.sampled_from(nodes))
    kind = draw(st.sampled_from(["text", "text", "delete", "double", "empty"]))
    if kind == "text":
        child.text = draw(st.sampled_from(BAD_TOKENS))
    elif kind == "delete":
        parent.remove(child)
    elif kind == "double":
        parent.append(copy.deepcopy(child))
    else:
        child.text = None
        for sub in list(child):
            child.remove(sub)
    return ET.tostring(root, encoding="unicode")


# ----------------------------------------------------------------------------- text and bytes
@st.composite
def token_mutation(draw, text: str) -> str:
    """A whitespace-separated text file (YOLO labels, split lists) with one token replaced or
    one line removed or doubled."""
    lines = text.splitlines() or [""]
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["token", "token", "token", "drop", "double", "extra"]))
    tokens = lines[i].split()
    if kind == "token" and tokens:
        j = draw(st.integers(0, len(tokens) - 1))
        tokens[j] = draw(st.sampled_from(BAD_TOKENS))
        lines[i] = " ".join(tokens)
    elif kind == "drop":
        del lines[i]
    elif kind == "double":
        lines.insert(i, lines[i])
    else:
        lines[i] += " " + draw(st.sampled_from(BAD_TOKENS))
    return "\n".join(lines) + "\n"


@st.composite
def byte_mutation(draw, data: bytes) -> bytes:
    """`data` emptied, truncated, bit-flipped, spliced with random bytes or made non-UTF-8."""
    kind = draw(st.sampled_from(["empty", "truncate", "truncate", "flip", "flip", "flip",
                                 "splice", "non-utf8"]))
    if kind == "empty" or not data:
        return b""
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    if kind == "flip":
        for pos, bit in draw(st.lists(st.tuples(st.integers(0, len(out) - 1),
                                                st.integers(0, 7)), min_size=1, max_size=8)):
            out[pos] ^= 1 << bit
        return bytes(out)
    pos = draw(st.integers(0, len(out)))
    junk = draw(st.binary(min_size=1, max_size=32)) if kind == "splice" else b"\xff\xfe\xc3("
    return bytes(out[:pos]) + junk + bytes(out[pos + len(junk) // 2:])


STRUCTURE = {"yaml": lambda data: tree_mutation(yaml.safe_load(data)).map(yaml_text),
             "json": lambda data: tree_mutation(json.loads(data)).map(json.dumps),
             "xml": lambda data: xml_mutation(data.decode("utf-8")),
             "text": lambda data: token_mutation(data.decode("utf-8"))}


@st.composite
def file_mutation(draw, seed: Path, kinds: dict[str, str]) -> tuple[str, bytes | None]:
    """(relative path, new bytes or None = delete the file) for one file of a seed folder.

    `kinds` maps each mutable file (relative to `seed`) to yaml, json, xml, text or binary;
    structured files get structural mutations as often as byte-level ones."""
    rel = draw(st.sampled_from(sorted(kinds)))
    data = (seed / rel).read_bytes()
    kind = kinds[rel]
    how = draw(st.sampled_from(["bytes", "structure", "structure", "delete"]
                               if kind in STRUCTURE else ["bytes", "bytes", "bytes", "delete"]))
    if how == "delete":
        return rel, None
    if how == "structure":
        return rel, draw(STRUCTURE[kind](data)).encode("utf-8")
    return rel, draw(byte_mutation(data))


@contextlib.contextmanager
def mutated_copy(seed: Path, rel: str | None = None, data: bytes | None = None) -> Iterator[Path]:
    """A fresh copy of the seed folder with `rel` replaced by `data` (None: deleted), removed
    afterwards."""
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        root = work / "w"
        shutil.copytree(seed, root, symlinks=True)
        if rel is not None:
            target = root / rel
            if data is None:
                target.unlink()
            else:
                target.write_bytes(data)
        yield root
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------- the check
def snapshot(root: Path) -> set[str]:
    """Every path under `root`, relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def describe_change(seed: Path, rel: str, data: bytes | None) -> str:
    """What a mutation did to one file, for a failure message: a diff, or its size."""
    if data is None:
        return f"{rel}: deleted"
    old = (seed / rel).read_bytes()
    try:
        a, b = old.decode(), data.decode()
        if rel.endswith(".json"):  # one line each: diff them indented
            with contextlib.suppress(ValueError):
                a, b = (json.dumps(json.loads(t), indent=1) for t in (a, b))
        diff = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
        return f"{rel}:\n" + "\n".join(list(diff)[2:])[:1500]
    except UnicodeDecodeError:
        return f"{rel}: {len(old)} -> {len(data)} bytes, {data[:80]!r}"


class Hang(BaseException):
    """A run that took longer than check_run's limit (a BaseException: no handler hides it)."""


def _hang(signum, frame):
    raise Hang()


def check_run(cli, args: list, root: Path, describe: Callable[[], str] = lambda: "",
              limit_s: float = 60.0) -> Any:
    """Run a click command in-process in `root`; assert it exits 0 or 2 without a traceback
    within `limit_s`, that a refusal is one `error:` line last on stderr, and that it wrote
    nothing then."""
    before = snapshot(root)
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        with contextlib.chdir(root):
            r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    except Hang:
        raise AssertionError(f"{describe()}\nargs {args}\nstill running after {limit_s:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    crash = r.exception is not None and not isinstance(r.exception, SystemExit)
    tb = "".join(traceback.format_exception(r.exception)) if crash else ""
    where = f"{describe()}\nargs {args}\nexit {r.exit_code}\n{r.output[-2000:]}\n{tb}"
    assert not crash and r.exit_code in (0, 2), where
    assert "Traceback (most recent call last)" not in r.output, where
    if r.exit_code == 2:
        lines = r.stderr.strip().splitlines()
        assert lines and lines[-1].startswith(("error: ", "Error: ")), where
        assert sum(ln.startswith("error: ") for ln in lines) <= 1, where
        new = sorted(snapshot(root) - before)
        assert not new, f"left behind on exit 2: {new[:5]}\n{where}"
    return r

"""The VOC XML reader's fast path (annotation_xml's own shape, one regular expression) gives
exactly what ElementTree gives: the same VocImage or the same error, on every document."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synth import voc
from synth.errors import InputError
from synth.voc import VocImage, VocObject, annotation_xml, parse_annotation, read_voc_set
from tests.helpers import write_voc

PATH = Path("Annotations/im.xml")


def outcome(data: bytes, fast: bool, check_boxes: bool = True) -> tuple:
    """What parsing gives: ("ok", repr of the VocImage) or (exception type, message)."""
    try:
        return "ok", repr(parse_annotation(data, PATH, check_boxes, fast=fast))
    except (InputError, ValueError, OverflowError) as exc:
        return type(exc).__name__, str(exc)


def no_elementtree(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("ElementTree was used")
    monkeypatch.setattr(voc.ET, "parse", refuse)


def test_annotation_xml_is_read_back_without_elementtree(monkeypatch, tmp_path):
    image = VocImage("im", "im 1.png", 640, 480, 3, [
        VocObject("bottle cap", (1, 2, 30, 40), pose="Left", truncated=True),
        VocObject("shoé", (5, 5, 640, 481), difficult=True)])
    text = annotation_xml(image)
    no_elementtree(monkeypatch)
    assert parse_annotation(text.encode(), PATH) == VocImage(
        "im", "im 1.png", 640, 480, 3, [
            VocObject("bottle cap", (1.0, 2.0, 30.0, 40.0), pose="Left", truncated=True),
            VocObject("shoé", (5.0, 5.0, 640.0, 481.0), difficult=True)])
    # Other line endings and indentation, and no objects at all: still the fast path.
    crlf = text.replace("\n", "\r\n").replace("  ", "\t").encode()
    assert parse_annotation(crlf, PATH).objects[1].name == "shoé"
    assert parse_annotation(annotation_xml(VocImage("e", "e.jpg", 8, 8)).encode(),
                            PATH).objects == []
    # A whole set written by the project's writer reads without ElementTree.
    write_voc(tmp_path / "voc", {"a": (64, 48, [VocObject("x", (1, 1, 10, 10))])})
    assert read_voc_set(tmp_path / "voc").images[0].objects[0].bbox == (1, 1, 10, 10)


def test_other_shapes_still_go_through_elementtree(monkeypatch):
    voc2007 = (b"<annotation><folder>VOC2007</folder><filename>000001.jpg</filename>"
               b"<source><database>The VOC2007 Database</database></source>"
               b"<size><width>353</width><height>500</height><depth>3</depth></size>"
               b"<segmented>0</segmented><object><name>dog</name><pose>Left</pose>"
               b"<truncated>1</truncated><difficult>0</difficult><bndbox><xmin>48</xmin>"
               b"<ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object>"
               b"</annotation>")
    assert parse_annotation(voc2007, PATH).objects[0] == VocObject(
        "dog", (48, 240, 195, 371), pose="Left", truncated=True)
    no_elementtree(monkeypatch)
    with pytest.raises(AssertionError, match="ElementTree was used"):
        parse_annotation(voc2007, PATH)


ODD_TEXTS = ["a&amp;b", "&#65;", "a\rb", "a\r\nb", "\x0c", "\x0b", "\x00", "\x1f", "\x7f",
             "\x85", "\xa0x\xa0", "\ufffe", "\U0001F600", "]]>", "a]]b", ">", "<", "&",
             "\t 5 \n", "1e400", "nan", "inf", "-0", "5_0", ""]


@pytest.mark.parametrize("field", ["folder", "filename", "width", "depth", "name", "pose",
                                   "truncated", "xmin"])
def test_each_odd_text_in_each_field(field):
    good = annotation_xml(VocImage("im", "im.jpg", 64, 48, 3, [VocObject("a", (1, 1, 9, 9))]))
    start, end = good.index(f"<{field}>") + len(field) + 2, good.index(f"</{field}>")
    for odd in ODD_TEXTS:
        data = (good[:start] + odd + good[end:]).encode()
        assert outcome(data, True) == outcome(data, False), (field, odd)


# ----------------------------------------------------------------------------- property
def rarely(common: st.SearchStrategy, rare: st.SearchStrategy, one_in: int) -> st.SearchStrategy:
    """`rare` about one time in `one_in`, else `common` (a document has some 40 texts and
    gaps; hypothesis favours small integers, so the rare one is a middle value)."""
    return st.integers(0, one_in - 1).flatmap(lambda k: rare if k == one_in // 2 else common)


TEXTS = rarely(
    st.sampled_from(["1", "10", "48", " 12 ", "3.5", "-1", "0", "1e3", "inf", "nan", "", "x",
                     "1_0", "Left", "dog", "a b", "640", "481", "\n 7\t", "é ", "1e400"]),
    st.lists(st.sampled_from(list("ab1.- \t\n\r\x0c\x00\x1f\x7f\x85\xa0é>]<&;#")
                             + ["\ufffe", "\U0001F600", "]]>", "&amp;", "&#65;"]),
             max_size=6).map("".join), 25)
NUMBERS = rarely(st.integers(0, 700).map(str), TEXTS, 6)
WORDS = rarely(st.sampled_from(["dog", "Left", "a b", "1", "é", "x\ty"]), TEXTS, 6)
FLAGS = rarely(st.sampled_from(["0", "1"]), TEXTS, 6)
COORDS = ("xmin", "ymin", "xmax", "ymax")
SPACES = rarely(st.sampled_from(["", "", "\n", "\n  ", "\t", "\r\n", " "]),
                st.just("\x0c"), 60)


def leaf(tag: str, text: st.SearchStrategy = TEXTS) -> st.SearchStrategy:
    return st.tuples(st.just(tag), text)


@st.composite
def trees(draw):
    """annotation_xml's tree with random texts, then maybe a few structural changes."""
    box = st.tuples(st.just("bndbox"), st.tuples(*(leaf(t, NUMBERS) for t in COORDS)))
    obj = st.tuples(st.just("object"), st.tuples(leaf("name", WORDS), leaf("pose", WORDS),
                                                  leaf("truncated", FLAGS),
                                                  leaf("difficult", FLAGS), box))
    size = st.tuples(st.just("size"), st.tuples(*(leaf(t, NUMBERS)
                                                  for t in ("width", "height", "depth"))))
    root = ["annotation", [draw(leaf("folder")), draw(leaf("filename")), draw(size),
                           draw(leaf("segmented")), *draw(st.lists(obj, max_size=3))]]
    tree = to_lists(root)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        mutate(draw, tree)
    return tree


def to_lists(node):
    tag, body = node
    return [tag, body if isinstance(body, str) else [to_lists(c) for c in body]]


def mutate(draw, tree) -> None:
    """Delete, duplicate, swap, rename, empty, attribute or comment one element."""
    nodes = [tree]
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n[1], list):
            nodes += n[1]
            stack += n[1]
    parents = [n for n in nodes if isinstance(n[1], list) and n[1]]
    parent = draw(st.sampled_from(parents))
    i = draw(st.integers(0, len(parent[1]) - 1))
    child = parent[1][i]
    what = draw(st.sampled_from(["delete", "duplicate", "swap", "rename", "empty",
                                 "attribute", "comment", "text"]))
    if what == "delete":
        del parent[1][i]
    elif what == "duplicate":
        parent[1].insert(i, copy.deepcopy(child))
    elif what == "swap" and i + 1 < len(parent[1]):
        parent[1][i], parent[1][i + 1] = parent[1][i + 1], parent[1][i]
    elif what == "rename":
        child[0] = draw(st.sampled_from(["object", "name", "bndbox", "Name", "size", "x"]))
    elif what == "empty":
        child[1] = None
    elif what == "attribute":
        child[0] += ' a="1"'
    elif what == "comment":
        parent[1].insert(i, ["!--", " c "])
    else:
        child[1] = draw(TEXTS)


def render(draw, node) -> str:
    tag, body = node
    if tag == "!--":
        return f"<!--{body}-->"
    name = tag.split(" ")[0]
    if body is None:
        return f"<{tag}/>"
    if isinstance(body, str):
        return f"<{tag}>{body}</{name}>"
    inner = "".join(draw(SPACES) + render(draw, c) for c in body) + draw(SPACES)
    return f"<{tag}>{inner}</{name}>"


@st.composite
def documents(draw) -> bytes:
    text = draw(rarely(st.sampled_from(["", "\n "]),
                       st.sampled_from(['<?xml version="1.0"?>\n', "\ufeff", "x"]), 8))
    text += render(draw, draw(trees())) + draw(SPACES)
    return text.encode("utf-8")


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents(), st.booleans())
def test_fast_path_gives_what_elementtree_gives(data, check_boxes):
    assert outcome(data, True, check_boxes) == outcome(data, False, check_boxes)


def test_fast_path_errors_are_elementtrees(monkeypatch):
    # Values the fast path reads are plain, so only the box checks can fail there.
    good = annotation_xml(VocImage("im", "im.jpg", 64, 48, 3, [VocObject("a", (1, 1, 9, 9))]))
    cases = {good: "ok",
             good.replace("<xmax>9</xmax>", "<xmax>70</xmax>"): "lies outside the 64x48 image",
             good.replace("<xmax>9</xmax>", "<xmax>0</xmax>"): "has an empty box"}
    by_tree = {text: outcome(text.encode(), False) for text in cases}
    no_elementtree(monkeypatch)
    for text, want in cases.items():
        got = outcome(text.encode(), True)
        assert got == by_tree[text] and want in got[0] + got[1]


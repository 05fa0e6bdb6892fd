"""Reading the YAML files users write (catalogs, camera files): strict, one-line errors."""
from __future__ import annotations

import os

import yaml

from .errors import InputError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str | os.PathLike):
    """Parse YAML that may not repeat a key; InputError '<path>: not valid YAML at line N: ...'."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: not valid YAML{at}: {problem}") from None


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict:
    """A YAML file that holds one mapping (an empty file: {}); InputError naming `what`."""
    from .fsio import read_text

    raw = parse_yaml(read_text(path, what), path)
    if raw is not None and not isinstance(raw, dict):
        raise InputError(f"{path}: a {what} must be a mapping of names to values")
    return raw or {}

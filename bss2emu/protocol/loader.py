"""Read experiment files safely: bounded before anything walks them.

A hostile file must not be able to keep ``bss2emu validate`` busy or crash it with a
traceback. So the loader

* reads bytes (at most ``MAX_FILE_BYTES``) and decodes them as UTF-8 itself: a file that is
  not UTF-8 is a ``ConfigError`` naming the byte offset;
* composes YAML into its node graph, in which an alias is a shared node and nothing is
  expanded yet, and measures that graph before constructing any Python object: a recursive
  alias, more than ``MAX_NESTING`` levels, or aliases that add more than ``MAX_ALIAS_VALUES``
  values (a "billion laughs" of anchors) are refused, in time linear in the file's size;
* refuses duplicate mapping keys (YAML and JSON keep the last value silently);
* parses JSON with the same bounds on nesting and duplicate keys (JSON has no aliases).

>>> load_mapping_text(b"a: &x [1, 2]\\nb: *x\\n", "demo.yaml")
{'a': [1, 2], 'b': [1, 2]}
>>> load_mapping_text(b"a: 1\\na: 2\\n", "demo.yaml")
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: experiment file 'demo.yaml', line 2: key 'a' is given twice (first on line 1); keep one
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_FILE_BYTES = 64 * 1024 * 1024  # experiment files hold spike lists, but not gigabytes
MAX_NESTING = 64  # levels of lists/mappings; the schema needs 6
MAX_NODES = 2_000_000  # values after alias expansion (a 1000×1000 spike array fits)
MAX_ALIAS_VALUES = 100_000  # values that aliases add beyond those written out

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_experiment_data(path: str | Path) -> dict:
    """The top-level mapping of a YAML or JSON experiment file (``.json``: JSON, else YAML)."""
    return read_mapping_file(path, "experiment file")


def read_mapping_file(path: str | Path, kind: str) -> dict:
    """The top-level mapping of any YAML/JSON input file (``kind``: "system file", ...)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"cannot read {kind} {str(path)!r}: {err.strerror or err}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{kind} {str(path)!r} is larger than {MAX_FILE_BYTES // 2**20} MiB; "
                          f"give long spike trains as a Poisson source or split the file")
    return load_mapping_text(raw, str(path), json_syntax=path.suffix.lower() == ".json", kind=kind)


def load_mapping_text(raw: bytes, name: str, json_syntax: bool = False, kind: str = "experiment file") -> dict:
    """Parse ``raw`` (the bytes of file ``name``) into its top-level mapping, within the bounds."""
    what = f"{kind} {name!r}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{what} is not UTF-8 text: byte 0x{raw[err.start]:02x} at offset {err.start} "
                          f"(line {line}); save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    data = _parse_json(text, what) if json_syntax else _parse_yaml(text, what)
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must hold a mapping (field: value) at the top level, found "
                          f"{'nothing' if data is None else type(data).__name__}; see `bss2emu schema`")
    return data


# --- YAML ------------------------------------------------------------------------------------

class _NoDuplicatesLoader(_Loader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # "<<: *base" merges; its keys may be overridden on purpose
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice (first on line {first.start_mark.line + 1}); "
                                    f"keep one", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


_NoDuplicatesLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                    lambda loader, node: loader.construct_mapping(node))


def _parse_yaml(text: str, what: str) -> Any:
    loader = _NoDuplicatesLoader(text)
    try:
        aliases = _check_yaml_nesting(loader, what)
        loader.dispose()
        loader = _NoDuplicatesLoader(text)
        root = loader.get_single_node()  # the node graph: aliases are shared nodes, not copies
        if root is None:
            return None
        if aliases:  # without aliases the document is a tree no larger than the text
            _check_graph(root, what)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = err.problem or err.context or "malformed YAML"
        raise ConfigError(f"{what}{where}: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} is not valid YAML: {err}") from None
    except RecursionError:  # the pure-Python composer on a deeply nested file
        raise ConfigError(f"{what} nests deeper than Python can parse; at most {MAX_NESTING} levels are "
                          f"allowed") from None
    finally:
        loader.dispose()


def _check_yaml_nesting(loader: yaml.Loader, what: str) -> int:
    """Nesting, from the parser's events: libyaml's composer recurses in C and would crash
    the interpreter on a file of 100,000 "[" before Python could stop it. Returns the
    number of aliases."""
    level = aliases = 0
    opening, closing = (yaml.SequenceStartEvent, yaml.MappingStartEvent), (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    get_event = loader.get_event
    while True:
        event = get_event()
        if event is None or type(event) is yaml.StreamEndEvent:
            return aliases
        kind = type(event)
        if kind in opening:
            level += 1
            if level > MAX_NESTING:
                raise ConfigError(f"{what}, line {event.start_mark.line + 1}: lists and mappings nest more "
                                  f"than {MAX_NESTING} levels deep; an experiment needs at most 6")
        elif kind in closing:
            level -= 1
        elif kind is yaml.AliasEvent:
            aliases += 1


def _check_graph(root: yaml.Node, what: str) -> None:
    """Refuse recursive aliases, nesting deeper than MAX_NESTING and expansions beyond
    MAX_NODES — computed over shared nodes once each (memoised), so a bomb costs little."""
    size: dict[int, int] = {}  # node id -> values it expands to
    depth: dict[int, int] = {}  # node id -> levels below and including it
    on_path: set[int] = set()
    # iterative post-order walk: (node, children done?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = _children(node)
            size[nid] = 1 + sum(size[id(k)] for k in kids)
            depth[nid] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[nid] > MAX_NODES or size[nid] - len(size) > MAX_ALIAS_VALUES:
                raise ConfigError(f"{what}, line {node.start_mark.line + 1}: aliases (*name of an &name anchor) "
                                  f"expand this value to {size[nid]:,} values, more than the "
                                  f"{min(MAX_NODES, len(size) + MAX_ALIAS_VALUES):,} allowed; "
                                  f"write the data out or use fewer aliases")
            if depth[nid] > MAX_NESTING:
                raise ConfigError(f"{what}, line {node.start_mark.line + 1}: lists and mappings nest more than "
                                  f"{MAX_NESTING} levels deep; an experiment needs at most 6")
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise ConfigError(f"{what}, line {node.start_mark.line + 1}: an alias refers to a value that "
                              f"contains it (a recursive anchor); an experiment is a tree, not a loop")
        if len(on_path) >= MAX_NESTING:
            raise ConfigError(f"{what}, line {node.start_mark.line + 1}: lists and mappings nest more than "
                              f"{MAX_NESTING} levels deep; an experiment needs at most 6")
        on_path.add(nid)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# --- JSON ------------------------------------------------------------------------------------

def _parse_json(text: str, what: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise ConfigError(f"{what}: key {key!r} is given twice in one object; keep one")
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}, line {err.lineno} column {err.colno}: {err.msg}; not valid JSON") from None
    except RecursionError:  # json's scanner stops itself at the interpreter's recursion limit
        raise ConfigError(f"{what}: lists and objects nest more than {MAX_NESTING} levels deep; an "
                          f"experiment needs at most 6") from None
    stack = [(data, 1)]
    while stack:  # JSON has no aliases: only the nesting is left to bound
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            if level > MAX_NESTING:
                raise ConfigError(f"{what}: lists and objects nest more than {MAX_NESTING} levels deep; an "
                                  f"experiment needs at most 6")
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return data

"""YAML files read safely, with the line and column of every value.

Scenario and experiment files are YAML written by people and sometimes by
other programs; a broken one must give a message, never a traceback or a
hang.  :func:`parse_yaml` therefore

* uses PyYAML's safe constructors, refuses duplicate keys, and keeps dates as
  text (``2025-02-29`` is then reported by the field that holds it, instead
  of failing inside the YAML library);
* refuses documents nested more than :data:`MAX_DEPTH` levels, or with more
  than :data:`MAX_NODES` values once aliases are expanded (an "alias bomb":
  a few kilobytes whose anchors stand for millions of values);
* records where every value and key starts, so a problem found later by
  field path (``items[3].department``) can be shown as ``file:57:18``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

__all__ = ["MAX_DEPTH", "MAX_NODES", "Positions", "YamlProblem", "parse_yaml"]

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted (shipped scenarios use under 20)."""

MAX_NODES = 500_000
"""Most values (scalars, lists, mappings) in one document, counting each alias use in full."""


class YamlProblem(Exception):
    """A file that is not usable YAML: ``reason`` at ``line``/``column`` (1-based, or None).

    ``path`` is the data path of the value at fault when the document's
    structure was read but one of its values could not be (e.g. ``!!bool 30``).
    """

    def __init__(self, reason: str, line: int | None = None, column: int | None = None, path: tuple | None = None):
        super().__init__(reason)
        self.reason, self.line, self.column, self.path = reason, line, column, path


@dataclass
class Positions:
    """Where values and keys start in the file, by data path (("items", 3, "department"))."""

    values: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    keys: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: tuple, key: str | None = None) -> tuple[int, int] | None:
        """Line and column of ``path`` (of its field ``key`` if given), else of its nearest written ancestor."""
        if key is not None and path + (key,) in self.keys:
            return self.keys[path + (key,)]
        for n in range(len(path), -1, -1):
            at = self.values.get(path[:n])
            if at is not None:
                return at
        return None


class _Resolver(Resolver):
    """The YAML 1.1 resolver without timestamps: dates stay text for the fields to parse."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _Composer(Composer):
    """Composer that counts depth and alias-expanded size as it goes."""

    def __init__(self):
        super().__init__()
        self._depth = 0
        self._count = 0
        self._sizes: dict[int, int] = {}

    def _grow(self, n: int, event) -> None:
        self._count += n
        if self._count > MAX_NODES:
            raise _limit(
                f"the document holds more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
                "a scenario needs far fewer: write the repeated parts out or simplify",
                event,
            )

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._grow(self._sizes.get(id(node), 1), event)
            return node
        if self._depth >= MAX_DEPTH:
            raise _limit(f"nested more than {MAX_DEPTH} levels deep", event)
        before = self._count
        self._grow(1, event)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._count - before
        return node


def _limit(reason: str, event) -> YamlProblem:
    mark = event.start_mark
    return YamlProblem(reason, mark.line + 1, mark.column + 1)


class _Constructor(SafeConstructor):
    """Safe constructor that refuses duplicate keys and keys that are lists or mappings."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:  # e.g. an integer of 5,000 digits, or '!!bool 30'
            kind = node.tag.rsplit(":", 1)[-1]
            if "digits" in str(exc):
                reason = f"a number with more digits than can be read ({str(exc).split(';')[0]})"
            elif isinstance(node, yaml.ScalarNode):
                shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
                reason = f"{shown!r} cannot be read as {kind} (check the value, or remove a '!!{kind}' tag)"
            else:
                reason = f"this cannot be read as {kind} (remove the '!!{kind}' tag)"
            raise ConstructorError(None, None, reason, node.start_mark) from None

    def construct_scalar(self, node):
        value = super().construct_scalar(node)
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ConstructorError(
                    None, None, f"not valid Unicode text (a lone surrogate {value[exc.start]!r})", node.start_mark
                ) from None
        return value

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(None, None, "a key must be a name or number, not a list or mapping", key_node.start_mark) from None
            if key in out:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            out[key] = self.construct_object(value_node, deep=deep)
        return out


_Constructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Constructor.construct_mapping)


class _PyLoader(Reader, Scanner, Parser, _Composer, _Constructor, _Resolver):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


try:  # libyaml scans and parses about 20 times faster; our composer still counts depth and size
    from yaml._yaml import CParser

    class _CLoader(_Composer, CParser, _Constructor, _Resolver):
        def __init__(self, stream):
            CParser.__init__(self, stream)
            _Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

        get_single_node = _Composer.get_single_node  # Python composition over C events, not CParser's own

    _Loader = _CLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = _PyLoader


def _positions(root) -> Positions:
    pos = Positions()
    seen: set[int] = set()
    stack: list[tuple[tuple, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        pos.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if id(node) in seen:  # an alias: its contents were recorded where the anchor is
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key: Any = key_node.value
                    if key_node.tag == "tag:yaml.org,2002:int":
                        try:
                            key = int(key)
                        except ValueError:
                            pass
                    pos.keys.setdefault(path + (key,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                    stack.append((path + (key,), value_node))
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                stack.append((path + (i,), child))
    return pos


def _path_at(root, at: tuple[int, int]) -> tuple | None:
    """The data path of the value written at ``at`` (line, column), if any."""
    pos = _positions(root)
    for path, where in pos.values.items():
        if where == at and path:
            return path
    for path, where in pos.keys.items():
        if where == at:
            return path
    return None


def parse_yaml(text: str) -> tuple[Any, Positions]:
    """(data, positions) of one YAML document; raises :class:`YamlProblem`."""
    loader = None
    node = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, Positions()
        data = loader.construct_document(node)
        return data, _positions(node)
    except YamlProblem:
        raise
    except ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        path = _path_at(node, (line, col)) if node is not None and line else None
        raise YamlProblem(exc.problem if path else f"YAML: {exc.problem}", line, col, path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and "while" not in exc.context:
            reason = f"{exc.context}: {exc.problem}"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise YamlProblem(f"YAML syntax: {reason}", line, col) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # a value built after the document was read (e.g. '!!set x' on a plain value)
        raise YamlProblem(f"a value cannot be read ({type(exc).__name__}: {exc}); check YAML tags such as '!!set'") from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlProblem(f"control character U+{char:04X} is not allowed in a YAML file", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML syntax: {exc}") from None
    except RecursionError:  # pragma: no cover - depth is limited above
        raise YamlProblem(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    finally:
        if loader is not None:
            loader.dispose()

"""Reading a protocol file: YAML in, a validated ``Protocol`` out, or a ``ProtocolError``.

Every problem names the file, the line (when the YAML has one for it), the field path and
what to do, so that the person editing the file can fix it without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leerid.errors import LeeridError
from leerid.protocol.model import Protocol

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) in a protocol file."""

    source: str
    path: FieldPath
    line: int | None
    message: str

    @property
    def dotted(self) -> str:
        """The field path as ``data.attributes[0].claim`` (``<file>`` for the whole file)."""
        return dotted(self.path)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.dotted}: {self.message}"


def dotted(path: FieldPath) -> str:
    """A field path in the usual notation: ``a.b[0].c``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "<file>"


class ProtocolError(LeeridError):
    """A protocol file cannot be read or is not valid; ``problems`` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in problems]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines)
        super().__init__(message)


@dataclass(frozen=True)
class LoadedProtocol:
    """A protocol with where it came from: its text and the line of every field."""

    protocol: Protocol
    source: str
    text: str
    lines: dict[FieldPath, int]

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        return _line_of(self.lines, path)


def _line_of(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _index_lines(
    node: yaml.Node,
    path: FieldPath,
    lines: dict[FieldPath, int],
    duplicates: list[tuple[FieldPath, int]],
) -> None:
    """Record the line of every field; collect keys written twice in one mapping."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append(((*path, key), line))
                continue
            seen.add(key)
            lines[(*path, key)] = line
            _index_lines(value_node, (*path, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, duplicates)


_HINTS = {
    "missing": "add this field",
    "extra_forbidden": "remove it or check its spelling (see docs/protocols.md)",
    "enum": "use one of the values listed",
    "literal_error": "use one of the values listed",
}


def _message(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    hint = _HINTS.get(str(error["type"]))
    if error["type"] == "missing":
        return "required field is missing; add it"
    if error["type"] == "extra_forbidden":
        return f"unknown field; {hint}"
    return f"{message}; {hint}" if hint else message


class _Loader(yaml.SafeLoader):
    """Safe YAML; dates and times stay text so that the model parses (and locates) them."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_document(text: str, source: str = "<string>") -> LoadedProtocol:
    """Parse and validate protocol YAML, keeping the line of each field."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ProtocolError(
            [Problem(source, (), line, f"not valid YAML ({detail}); fix the syntax there")]
        ) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ProtocolError(
            [Problem(source, (), None, f"not valid YAML ({exc}); fix the syntax")]
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError(
            [Problem(source, (), 1, "a protocol file is a YAML mapping (id: …, version: …)")]
        )
    lines: dict[FieldPath, int] = {}
    duplicates: list[tuple[FieldPath, int]] = []
    if node is not None:
        _index_lines(node, (), lines, duplicates)
    if duplicates:
        # YAML would silently keep the last one: in a legal text that hides a mistake.
        raise ProtocolError(
            [
                Problem(source, path, line, "this key appears twice in its mapping; keep one")
                for path, line in duplicates
            ]
        )
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path: FieldPath = tuple(error["loc"])
            problems.append(Problem(source, path, _line_of(lines, path), _message(error)))
        raise ProtocolError(problems) from None
    return LoadedProtocol(protocol, source, text, lines)


def read_document(path: str | Path) -> LoadedProtocol:
    """Read and validate the protocol file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(
            [Problem(str(path), (), None, "file not found; check the path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            [Problem(str(path), (), None, f"cannot read the file ({exc}); save it as UTF-8")]
        ) from None
    return parse_document(text, str(path))


def parse_protocol(text: str, source: str = "<string>") -> Protocol:
    """Parse and validate protocol YAML; raise ``ProtocolError`` naming field and line."""
    return parse_document(text, source).protocol


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate the protocol file at ``path``; raise ``ProtocolError`` when wrong."""
    return read_document(path).protocol

"""pydantic's validation errors -> mlpipe's one-line ConfigError.

The line names where the value came from (`mlpipe.yaml:12`, `env MLPIPE_X`, `option --x`), the
key, the value as the user wrote it (YAML reads `3.10` as 3.1) and what is wrong; the hint gives
the fix for that kind of error (quote it, write a list, a whole number...) in the user's own terms:
a line of mlpipe.yaml, or the environment variable to set.
"""

from __future__ import annotations

import re
import shlex
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mlpipe.config_checks import unknown_key_hint
from mlpipe.errors import ConfigError

_BOUNDS = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
_UNITS = {"_s": "seconds", "_days": "days", "_mb": "MB", "_gb": "GB"}
_LIST_TYPES = ("tuple_type", "list_type", "set_type")
_INT_TYPES = ("int_type", "int_parsing", "int_from_float", "int_parsing_size")
_FLOAT_TYPES = ("float_type", "float_parsing")
_BOOL_TYPES = ("bool_type", "bool_parsing")
# kinds whose message says what is wrong; the hint shows the key's example
_EXAMPLE_KINDS = (
    "string_pattern_mismatch",
    "string_too_short",
    "string_too_long",
    "too_long",
    "too_short",
    "value_error",
)
_UNION_MEMBERS = {"float": "a number", "int": "a number", "str": "text", "bool": "true or false"}


class RuleError(ValueError):
    """A rule's violation that names the keys it is about (dotted, relative to the model that
    raises it; the key to change first comes first), so the error can say where each was set."""

    def __init__(self, message: str, keys: tuple[str, ...], hint: str | None = None) -> None:
        super().__init__(message)
        self.keys = keys
        self.hint = hint


@dataclass(frozen=True)
class Origins:
    """Where each value of a config came from, for the error line."""

    file: Path | None
    # dotted key -> "file:LINE" | "env MLPIPE_X" | "option --x" (keys left at their default: absent)
    sources: Mapping[str, str]
    # key path -> the value's text as written (file: unquoted scalars; env: the variable's value)
    written: Mapping[tuple[str, ...], str]

    def where(self, loc: tuple[str, ...]) -> str:
        """The source of the key at `loc`, or of its closest enclosing key; else the file."""
        for end in range(len(loc), 0, -1):
            source = self.sources.get(".".join(loc[:end]))
            if source:
                return source
        return str(self.file or "config")

    def shown(self, loc: tuple[str, ...], value: Any) -> str:
        """The value for the error line: text as `'text'`, anything else as the user wrote it."""
        if isinstance(value, str):
            return repr(value)
        return self.written.get(loc) or ("true" if value is True else "false" if value is False else str(value))

    def example(self, loc: tuple[str, ...], text: str) -> str:
        """How to write `text` as the value of `loc`, where the user set it: a YAML line or a variable."""
        source = self.where(loc)
        if source.startswith("env "):
            return f"{source.removeprefix('env ')}={shlex.quote(text)}"
        if source.startswith("option "):
            return f"{source.removeprefix('option ')} {shlex.quote(text)}"
        name = next((part for part in reversed(loc) if not part.isdigit()), "key")
        return f"{name}: {text}" if loc and not loc[-1].isdigit() else f"- {text}"


def config_error(exc: ValidationError, origins: Origins, model: Any) -> ConfigError:
    """The first of pydantic's errors as one ConfigError; the hint counts the others."""
    errors = _merged(list(exc.errors()))
    first = errors[0]
    loc = tuple(str(part) for part in first["loc"])
    rule = (first.get("ctx") or {}).get("error")
    if isinstance(rule, RuleError):
        message, hint = _rule_line(rule, loc, origins), rule.hint
    elif not loc:
        message, hint = f"{origins.where(loc)}: {first['msg'].removeprefix('Value error, ')}", None
    else:
        field = _field(model, loc)
        message = f"{origins.where(loc)}: {'.'.join(loc)}: {_describe(first, loc, origins, field)}"
        hint = _hint(first, loc, origins, field)
        if first["type"] == "extra_forbidden":
            hint = _unknown_key_hint(model, loc, origins)
    if not hint and first["type"] != "value_error":  # mlpipe's own checks say the fix in the message
        hint = "`mlpipe config schema` lists every key and what it allows"
    more = len(errors) - 1
    if more:
        hint = f"{hint}; {more} more problem(s) after this one" if hint else f"{more} more problem(s) after this one"
    return ConfigError(message, hint=hint)


def _merged(errors: list[Any]) -> list[Any]:
    """One error per value: pydantic reports a value that fits no member of a union (model.params'
    `float | int | str`) once per member, with the member's name appended to the key."""
    out: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        if not (loc and loc[-1] in _UNION_MEMBERS):
            out.append(error)
            continue
        previous = out[-1] if out else None
        if previous is not None and previous["type"] == "union" and tuple(previous["loc"]) == loc[:-1]:
            previous["wanted"].append(_UNION_MEMBERS[str(loc[-1])])
        else:
            out.append({**error, "type": "union", "loc": loc[:-1], "wanted": [_UNION_MEMBERS[str(loc[-1])]]})
    return out


def _unknown_key_hint(model: Any, loc: tuple[str, ...], origins: Origins) -> str:
    guess = unknown_key_hint(model, loc)
    source = origins.where(loc)
    if source.startswith("env "):  # the user typed a variable: suggest the variable
        name = source.removeprefix("env ")
        right = guess.removeprefix("did you mean ").removesuffix("?") if guess else None
        variable = "MLPIPE_" + "__".join(right.split(".")).upper() if right else None
        return f"unset {name}" + (f"; did you mean {variable}?" if variable else "")
    return guess or f"remove it; `mlpipe config schema` lists the keys of {'.'.join(loc[:-1]) or 'mlpipe.yaml'}"


def _rule_line(rule: RuleError, loc: tuple[str, ...], origins: Origins) -> str:
    """A rule across keys names the source of the first key set in the file, and every key set in
    the environment or by an option (values there are easy to forget)."""
    found: list[str] = []
    for key in rule.keys:
        source = origins.sources.get(".".join((*loc, key)))
        if not source or source in found:
            continue
        in_file = not source.startswith(("env ", "option "))
        if in_file and any(not f.startswith(("env ", "option ")) for f in found):
            continue
        found.append(source)
    where = ", ".join(found) if found else origins.where(loc)
    return f"{where}: {rule}"


def _field(model: Any, loc: tuple[str, ...]) -> Any:
    """The pydantic FieldInfo of the key at `loc` (None for a dict entry or list item)."""
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return None
        info = fields[part]
        model = info.annotation
    return info


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "empty" if value is None else "text"


def _choices(field: Any) -> tuple[Any, ...]:
    annotation = getattr(field, "annotation", None)
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return typing.get_args(candidate)
    return ()


def _describe(error: Mapping[str, Any], loc: tuple[str, ...], origins: Origins, field: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    shown = origins.shown(loc, got)
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if got is None:
        return "no value (an empty key)"
    if kind == "union":
        return f"{shown} is {_kind_of(got)}, not {' or '.join(dict.fromkeys(error['wanted']))}"
    if kind == "model_type":
        return f"{shown} is {_kind_of(got)}, not a section of keys"
    if kind in _BOUNDS:
        return f"{shown} is out of range: must be {_BOUNDS[kind]} {next(iter(ctx.values()))}"
    if kind == "literal_error":
        if _quoting_fixes(got, shown, field):
            return f"{shown} is {_kind_of(got)} in YAML, not the text {shown!r}"
        if _unquoting_fixes(got, field):
            return f"{shown} is text (quoted), not the number {str(got).strip()}"
        return f"{shown} is not allowed: expected {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{shown} does not match {ctx.get('pattern')}"
    if kind in ("too_long", "too_short"):
        limit = f"at most {ctx.get('max_length')}" if kind == "too_long" else f"at least {ctx.get('min_length')}"
        return f"{ctx.get('actual_length')} item(s): {limit} allowed"
    if kind == "string_type" or kind in _LIST_TYPES or kind == "dict_type":
        wanted = {"string_type": "text", "dict_type": "a mapping"}.get(kind, "a list")
        return f"{shown} is {_kind_of(got)}, not {wanted}"
    if kind in _INT_TYPES:
        return f"{shown} is not a whole number"
    if kind in _FLOAT_TYPES:
        return f"{shown} is not a number"
    if kind in _BOOL_TYPES:
        return f"{shown} is not true or false"
    message = str(error["msg"]).removeprefix("Value error, ")
    if got is None or isinstance(got, (dict, list)) or repr(got) in message:
        return message
    return f"{shown}: {message}"


def _quoting_fixes(got: Any, shown: str, field: Any) -> bool:
    """True when the value, read as text, is one of the choices: YAML made a number of `3.12`."""
    return not isinstance(got, str) and shown in [c for c in _choices(field) if isinstance(c, str)]


def _fits(field: Any, text: str) -> bool:
    """True unless the key's pattern refuses `text` (quoting `stage: 123` would not help)."""
    patterns = [m.pattern for m in getattr(field, "metadata", []) if getattr(m, "pattern", None)]
    return all(re.search(p, text) for p in patterns)


def _unquoting_fixes(got: Any, field: Any) -> bool:
    """True when a quoted number is one of the choices: `memory_mb: "2048"`."""
    return isinstance(got, str) and got.strip() in [str(c) for c in _choices(field) if isinstance(c, int)]


def _hint(error: Mapping[str, Any], loc: tuple[str, ...], origins: Origins, field: Any) -> str | None:
    kind, got = error["type"], error.get("input")
    shown = origins.shown(loc, got)
    if kind == "missing":
        return f"add it, e.g. `{origins.example(loc, _text(str(_sample(field) or 'NAME')))}`"
    if kind == "model_type":
        return f"write its keys indented under `{loc[-1]}:`, or delete the line for the defaults"
    if got is None:
        sample = _sample(field) if _sample(field) is not None else _low(field)
        given = (
            f"give it a value, e.g. `{origins.example(loc, _yaml(sample))}`"
            if sample is not None
            else "give it a value"
        )
        return given if field is not None and field.is_required() else f"{given}, or remove the key for the default"
    if kind == "union":
        return f"write {' or '.join(dict.fromkeys(error['wanted']))}"
    if kind == "literal_error":
        return _literal_hint(got, shown, loc, origins, field)
    if kind == "string_type" and isinstance(got, (bool, int, float)) and _fits(field, shown):
        return f"quote it, `{origins.example(loc, _quoted(shown))}`: YAML read {_kind_of(got)}"
    if kind == "string_type":
        return f"write one text value, e.g. `{origins.example(loc, _text(str(_sample(field) or 'text')))}`"
    if kind in _LIST_TYPES:
        scalar = not isinstance(got, (dict, list)) and got is not None
        item = origins.written.get(loc) or (str(got) if scalar else "...")
        return f"write a list, `{origins.example(loc, f'[{item}]')}`"
    if kind == "dict_type":
        sample = _sample(field)
        return f"write a mapping, e.g. `{origins.example(loc, _yaml(sample) if sample else '{NAME: value}')}`"
    return _value_hint(kind, loc, origins, field)


def _value_hint(kind: str, loc: tuple[str, ...], origins: Origins, field: Any) -> str | None:
    """Hints for a number (the range, an example: the default, else the bound), true/false, and
    text or a list against its pattern, length or mlpipe's own check (the key's example)."""
    default = _default(field)
    unit = next((f" ({u})" for suffix, u in _UNITS.items() if loc[-1].endswith(suffix)), "")
    if kind in _BOUNDS:
        example = f", e.g. `{origins.example(loc, _yaml(default))}`" if default is not None else ""
        return f"use {_range(field)}{unit}{example}"
    if kind in _BOOL_TYPES:
        return f"write true or false, e.g. `{origins.example(loc, _yaml(bool(default)))}`"
    if kind in (*_INT_TYPES, *_FLOAT_TYPES):
        what = "a whole number" if kind in _INT_TYPES else "a number"
        sample = _yaml(default if default is not None else _low(field) or 1)
        return f"write {what}{unit} without quotes or units, e.g. `{origins.example(loc, sample)}`"
    if kind in _EXAMPLE_KINDS:
        sample = _sample(field)
        return f"e.g. `{origins.example(loc, _yaml(sample))}`" if sample else None
    return None


def _literal_hint(got: Any, shown: str, loc: tuple[str, ...], origins: Origins, field: Any) -> str:
    choices = _choices(field)
    allowed = ", ".join(str(c) for c in choices)
    if _quoting_fixes(got, shown, field):
        return f"quote it, `{origins.example(loc, _quoted(shown))}`: YAML read {_kind_of(got)}"
    if _unquoting_fixes(got, field):
        return f"write it without quotes, `{origins.example(loc, got.strip())}`"
    sample = _sample(field) if _sample(field) in choices else choices[0] if choices else None
    if isinstance(sample, str):
        return f"use one of {allowed}, e.g. `{origins.example(loc, _text(sample))}`"
    return f"use one of {allowed}"


def _sample(field: Any) -> Any:
    """An example value for a key: its documented example, else its default."""
    examples = getattr(field, "examples", None)
    if examples:
        return examples[0]
    default = _default(field)
    return default if default not in (None, [], {}, "") else None


def _default(field: Any) -> Any:
    if field is None or field.is_required():
        return None
    value = field.get_default(call_default_factory=True)
    return list(value) if isinstance(value, tuple) else value


def _low(field: Any) -> Any:
    """The key's lower bound (ge), for an example where it has no default."""
    return next((m.ge for m in getattr(field, "metadata", []) if getattr(m, "ge", None) is not None), None)


def _range(field: Any) -> str:
    metadata = getattr(field, "metadata", [])
    bounds = {n: getattr(m, n) for m in metadata for n in ("ge", "gt", "le", "lt") if hasattr(m, n)}
    low = f">= {bounds['ge']}" if "ge" in bounds else f"> {bounds['gt']}" if "gt" in bounds else ""
    high = f"<= {bounds['le']}" if "le" in bounds else f"< {bounds['lt']}" if "lt" in bounds else ""
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']} to {bounds['le']}"
    return " and ".join(part for part in (low, high) if part) or "another value"


def _text(value: str) -> str:
    """`value` written so that YAML reads it as text: quoted only when it would read otherwise."""
    return value if yaml.safe_load(value) == value else _quoted(value)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yaml(value: Any) -> str:
    """A value as it is written in mlpipe.yaml (flow style: one line)."""
    if isinstance(value, str):
        return _text(value)
    dumped = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    return dumped.strip().removesuffix("...").strip()

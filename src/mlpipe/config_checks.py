"""Checks on mlpipe.yaml and MLPIPE_* variables that pydantic cannot make: a key given twice in
one mapping (YAML keeps the last silently), and a misspelled variable (it would be ignored).

Kept apart from config.py so that the model stays one readable file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from mlpipe.errors import ConfigError

ENV_PREFIX = "MLPIPE_"
# MLPIPE_* variables that are not config keys: the CLI's own settings, the handler's environment
# (set by deploy on the function), the pipeline's build. Prefixes cover families of settings.
NON_CONFIG_ENV = frozenset(
    {
        "MLPIPE_CONFIG",
        "MLPIPE_DEBUG",
        "MLPIPE_CACHE_DIR",
        "MLPIPE_ENDPOINT_NAME",
        "MLPIPE_FEATURE_COUNT",
        "MLPIPE_DLQ_URL",
        "MLPIPE_RESULTS_QUEUE_URL",
        "MLPIPE_MISSING_VALUES",
        "MLPIPE_MAX_ROWS",
        "MLPIPE_ALLOW_MISSING_FEATURES",
    }
)
NON_CONFIG_ENV_PREFIXES = ("MLPIPE_LOCAL_", "MLPIPE_TEST_")


def line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path in a YAML document to its 1-based line number."""
    index: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = (*path, str(key_node.value))
                index[key_path] = key_node.start_mark.line + 1
                walk(value_node, key_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                index[(*path, str(i))] = item.start_mark.line + 1
                walk(item, (*path, str(i)))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return index


def written_values(text: str) -> dict[tuple[str, ...], str]:
    """Each unquoted scalar as written in the file (`3.10`, not the float 3.1 YAML makes of it), by
    key path: an error shows the value the user typed."""
    index: dict[tuple[str, ...], str] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.ScalarNode) and path and node.style is None:
            index[path] = str(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                walk(value_node, (*path, str(key_node.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, str(i)))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return index


def yaml_problem(path: object, exc: yaml.YAMLError) -> ConfigError:
    """A YAML syntax error as one line at the line to fix, with the fix for the usual mistakes."""
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    opened = context.line + 1 if context is not None else None
    hint = "check the indentation (spaces, the same depth for keys of one section) and the quoting"
    if "'\\t'" in problem:  # PyYAML names the character it found: '\t'
        hint = "YAML forbids tabs: indent with spaces"
    elif problem.startswith("expected ',' or") and opened:
        closing = problem.split(" or ", 1)[1][1]
        hint, mark = f"close the {'[' if closing == ']' else '{'} opened on line {opened} with {closing!r}", context
    elif "end of stream" in problem and "quoted" in str(getattr(exc, "context", "")) and opened:
        hint, mark = f"close the quote opened on line {opened}", context
    elif problem == "mapping values are not allowed here":
        hint = "quote a value that holds ': ' (`target: \"a: b\"`), or indent this key as deep as its neighbours"
    elif "cannot start any token" in problem or "undefined alias" in problem:
        hint = "quote the value: YAML reserves '@', '`', '*', '&', '!' and '%' at its start"
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    return ConfigError(f"{where}: malformed YAML: {problem}", hint=hint)


def duplicate_key(text: str) -> tuple[str, int, int] | None:
    """The first key given twice in one mapping: (dotted key, its line, the earlier line), 1-based."""
    root = yaml.compose(text)

    def walk(node: yaml.Node | None, path: tuple[str, ...]) -> tuple[str, int, int] | None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key, line = str(key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    return ".".join((*path, key)), line, seen[key]
                seen[key] = line
                found = walk(value_node, (*path, key))
                if found:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                found = walk(item, (*path, str(i)))
                if found:
                    return found
        return None

    return walk(root, ())


def env_names(model: Any) -> list[str]:
    """Every MLPIPE_* variable that names a config key: MLPIPE_STAGE, MLPIPE_FUNCTION__TIMEOUT_S..."""
    names = []
    for name, info in model.model_fields.items():
        names.append(ENV_PREFIX + name.upper())
        sub = info.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            names += [f"{ENV_PREFIX}{name.upper()}__{child.upper()}" for child in sub.model_fields]
    return names


def check_env(env: Mapping[str, str], model: Any) -> None:
    """An MLPIPE_* variable that is neither a config key nor one of mlpipe's settings is an error,
    as an unknown key in mlpipe.yaml is: a typo must not be silently ignored."""
    valid = env_names(model)
    known = set(valid) | NON_CONFIG_ENV
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(NON_CONFIG_ENV_PREFIXES):
            continue
        if name.split("__")[0] in known and "__" in name:
            continue  # a nested key of a known section: pydantic names it if it is unknown
        guess = closest(name, [*valid, *NON_CONFIG_ENV])
        raise ConfigError(
            f"env {name}: unknown variable" + (f"; did you mean {guess}?" if guess else ""),
            hint=f"unset {name}; `mlpipe config schema` lists the keys (MLPIPE_<KEY>, MLPIPE_<SECTION>__<KEY>)",
        )


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_hint(model: Any, loc: tuple[str, ...]) -> str | None:
    """`did you mean visibility_timeout_s?` for an unknown key, from the keys of its section."""
    section = model
    for part in loc[:-1]:
        info = getattr(section, "model_fields", {}).get(part)
        if info is None or not hasattr(info.annotation, "model_fields"):
            return None
        section = info.annotation
    guess = closest(loc[-1], getattr(section, "model_fields", {}))
    return f"did you mean {'.'.join((*loc[:-1], guess))}?" if guess else None

"""`mlpipe init`: write a commented mlpipe.yaml into a directory.

The scaffold is validated as a config before anything is written; an existing file is only
replaced with `force`. No buildspec.yml: the pipeline's buildspec belongs to the CodeBuild project
(bootstrap-pipeline sets it), never to the repository, where any committer could change it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipe.bundled import templates_dir
from mlpipe.errors import UsageError

if TYPE_CHECKING:
    from mlpipe.config import Config

CONFIG_TEMPLATE = "mlpipe.yaml"
DEFAULT_APP = "my-app"
APP_LINE = re.compile(r"^app: my-app( *)", re.MULTILINE)
STAGE_LINE = re.compile(r"^stage: dev( *)", re.MULTILINE)


@dataclass
class ScaffoldResult:
    app: str
    written: list[Path] = field(default_factory=list)
    stage: str = "dev"

    def to_dict(self) -> dict[str, object]:
        return {"app": self.app, "stage": self.stage, "written": [str(p) for p in self.written]}


def app_name_for(directory: Path) -> str:
    """A valid app name from the directory's name ('My_Project 2' -> 'my-project-2'), else my-app."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")[:24].strip("-")
    return name if re.fullmatch(r"[a-z][a-z0-9-]*", name) else DEFAULT_APP


def render_config(app: str, stage: str = "dev") -> str:
    text = (templates_dir() / CONFIG_TEMPLATE).read_text(encoding="utf-8")

    def padded(line: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:  # keep the comment column aligned
            width = len(match.group(0))
            return line.ljust(width) if len(line) < width else f"{line} "

        return replace

    text = APP_LINE.sub(padded(f"app: {app}"), text, count=1)
    return fill_ranges(STAGE_LINE.sub(padded(f"stage: {stage}"), text, count=1))


KEY_LINE = re.compile(r"^(?P<indent> *)(?:# )?(?P<key>[a-z_]+):")


def fill_ranges(text: str) -> str:
    """`{range}` and `{choices}` in the template's comments become the config model's own bounds
    and allowed values for that line's key, so the scaffold and validation cannot disagree."""
    from mlpipe.config import Config

    out, section = [], None
    for line in text.splitlines(keepends=True):
        match = KEY_LINE.match(line)
        if match and not match.group("indent"):
            section = match.group("key")
        if match and ("{range}" in line or "{choices}" in line):
            fields = Config.model_fields
            if match.group("indent") and section in fields:
                fields = getattr(fields[section].annotation, "model_fields", {})
            info = fields[match.group("key")]
            if "{range}" in line:
                line = line.replace("{range}", _range(match.group("key"), info))
            if "{choices}" in line:
                line = line.replace("{choices}", _choices(info))
        out.append(line)
    return "".join(out)


def _range(key: str, info: Any) -> str:
    bounds = {name: getattr(m, name) for m in info.metadata for name in ("ge", "gt", "le", "lt") if hasattr(m, name)}
    low, high = bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt"))
    if low is None or high is None:
        raise ValueError(f"templates/mlpipe.yaml: {key} has {{range}} but no bounds in the config model")
    text = f"{low} - {high}" + (" (exclusive)" if "gt" in bounds or "lt" in bounds else "")
    if key.endswith("_s") and high >= 86_400 and high % 86_400 == 0:
        text += f" ({high // 86_400} days)"
    return text


def _choices(info: Any) -> str:
    values = [str(v) for v in typing.get_args(_unwrap(info.annotation))]
    if not values:
        raise ValueError("templates/mlpipe.yaml: {choices} on a key that is not a Literal")
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def _unwrap(annotation: Any) -> Any:
    """Literal[...] out of `Literal[...] | None`."""
    if typing.get_origin(annotation) is typing.Literal:
        return annotation
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            return arg
    return annotation


def _validated(app: str, text: str) -> Config:
    import yaml
    from pydantic import ValidationError

    from mlpipe.config import Config

    try:
        return Config.model_validate({**yaml.safe_load(text), "app": app})
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise UsageError(
            f"--app {app!r} is not a valid app name: {problem}",
            hint="use 1 to 24 of lowercase letters, digits and '-', starting with a letter",
        ) from None


def scaffold(
    config_path: Path, app: str | None = None, force: bool = False, stage: str | None = None
) -> ScaffoldResult:
    """Write mlpipe.yaml at `config_path`, with `stage` (--stage) instead of the default dev."""
    from mlpipe.config import load_config

    directory = config_path.parent
    app = app or app_name_for(directory)
    _validated(app, render_config(app))  # a bad --app fails here, before anything is written
    if stage is not None:  # a bad --stage too, named as every command names it (option --stage)
        load_config(None, overrides={"app": app, "stage": stage}, env={})
    stage = stage or "dev"
    text = render_config(app, stage)
    files = {config_path: text}
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such directory", hint="create it first, or pass another --config path")
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(map(str, existing))} already exist(s); mlpipe init will not overwrite",
            hint="pass --force to replace, or edit the file",
        )
    _write_all(files)
    load_config(config_path, env={})  # the written file must load (guards the template itself)
    return ScaffoldResult(app, list(files), stage)


def _write_all(files: dict[Path, str]) -> None:
    """Every file or none: each is written beside its target first, then all are renamed in place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in files.items():
            staged.append((path.with_name(f".{path.name}.mlpipe-tmp"), path))
            staged[-1][0].write_text(content, encoding="utf-8")
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        failed = staged[-1][1]
        raise UsageError(
            f"{failed}: cannot write it: {exc.strerror}",
            hint="run `mlpipe init` in a directory you can write to, or pass --config PATH",
        ) from None
    for temporary, path in staged:
        temporary.replace(path)

"""mlpipe.yaml -> a frozen, validated Config.

Precedence: command-line option > MLPIPE_* environment variable > file > default. Environment
variables name a top-level key (MLPIPE_STAGE) or a nested one with a double underscore
(MLPIPE_FUNCTION__TIMEOUT_S); their values are parsed as YAML scalars.

Every error names the file, the line, the key, what was wrong and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from mlpipe.config_checks import check_env, duplicate_key, line_index, written_values, yaml_problem
from mlpipe.config_errors import Origins, RuleError, config_error
from mlpipe.config_model import EndpointConfig, ModelConfig, TrainingConfig
from mlpipe.config_sections import AlarmConfig, QueueConfig, _Section, environment_problem, pinned_install
from mlpipe.errors import ConfigError
from mlpipe.names import name_problems, reserved_stages, stage_problem

DEFAULT_CONFIG_FILE = "mlpipe.yaml"
ENV_PREFIX = "MLPIPE_"
DAY = 86_400


class FunctionConfig(_Section):
    """The Lambda function and its SQS event source mapping."""

    runtime: Literal["python3.12", "python3.13"] = Field("python3.12", description="Lambda runtime")
    # The handler keeps ~2.5 s for logging and the DLQ, so shorter timeouts never reach the endpoint.
    timeout_s: int = Field(30, ge=5, le=900, description="Function timeout (s)")
    memory_mb: int = Field(256, ge=128, le=10_240, description="Function memory")
    batch_size: int = Field(10, ge=1, le=10_000, description="Messages per invocation")
    batching_window_s: int = Field(0, ge=0, le=300, description="Maximum batching window")
    max_concurrency: int | None = Field(None, ge=2, le=1000, description="Event source mapping maximum concurrency")
    reserved_concurrency: int | None = Field(None, ge=0, le=1000, description="Reserved concurrency")
    log_retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ] = Field(30, description="Log group retention (days)")
    max_rows_per_message: int | None = Field(
        None, ge=1, le=100_000, description="Rows one message may hold (default: what fits one endpoint call)"
    )
    allow_missing_features: bool = Field(False, description="A feature name absent from a JSON row = missing")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra environment variables")

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        problem = environment_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _batch_window(self) -> FunctionConfig:
        if self.batch_size > 10 and self.batching_window_s < 1:
            raise RuleError(
                f"function.batch_size ({self.batch_size}) > 10 needs function.batching_window_s >= 1 "
                "(AWS rejects it otherwise)",
                keys=("batch_size", "batching_window_s"),
                hint="set function.batching_window_s: 1 (seconds), or function.batch_size: 10 or less",
            )
        return self


class PipelineConfig(_Section):
    """`mlpipe bootstrap-pipeline`: CodeCommit or a CodeConnections source -> CodeBuild -> CodePipeline."""

    source: Literal["codecommit", "connection"] = Field("codecommit", description="Where commits come from")
    branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]{1,100}$", description="Branch that triggers")
    connection_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[A-Za-z0-9-]+$",
        examples=["arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-4567-89ef-0123-456789abcdef"],
        description="CodeConnections ARN (source: connection)",
    )
    repository_id: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", examples=["my-org/my-repo"], description="owner/repo (source: connection)"
    )
    stages: tuple[str, ...] = Field(
        ("dev",), min_length=1, max_length=2, examples=[["dev", "prod"]], description="Stages deployed in order"
    )
    approval: bool = Field(True, description="Manual approval before the second stage")
    execution_mode: Literal["QUEUED", "SUPERSEDED"] = Field("QUEUED", description="Pipeline execution mode")
    build_image: Literal[
        "aws/codebuild/standard:7.0",
        "aws/codebuild/standard:8.0",
        "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    ] = Field("aws/codebuild/standard:7.0", description="CodeBuild image")
    python_version: Literal["3.11", "3.12", "3.13"] = Field("3.12", description="Pinned runtime-versions: python")
    install: str | None = Field(
        None,
        description="What the build installs instead of the running mlpipe: pinned requirements (name==version), "
        "wheel files or URLs; locked with sha256 hashes like the default, the mlpipe that runs bootstrap-pipeline",
    )

    @field_validator("install")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        return pinned_install(value)

    @model_validator(mode="after")
    def _stage_names(self) -> PipelineConfig:
        for stage in self.stages:
            if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", stage):
                raise RuleError(
                    f"pipeline.stages: stage {stage!r} is not allowed: 1 to 10 of [a-z0-9], starting with a letter",
                    keys=("stages",),
                )
        if len(set(self.stages)) != len(self.stages):
            raise RuleError(
                f"pipeline.stages {list(self.stages)} lists a stage twice: name two different stages",
                keys=("stages",),
            )
        return self

    @model_validator(mode="after")
    def _connection(self) -> PipelineConfig:
        if self.source == "connection" and not (self.connection_arn and self.repository_id):
            raise RuleError(
                "pipeline.source 'connection' needs pipeline.connection_arn and pipeline.repository_id (owner/repo)",
                keys=("source", "connection_arn", "repository_id"),
                hint="set both, or pipeline.source: codecommit",
            )
        return self


class Config(_Section):
    """The whole of mlpipe.yaml."""

    app: str = Field(
        ...,
        min_length=1,
        max_length=24,
        pattern=r"^[a-z][a-z0-9-]*$",
        examples=["house-prices"],
        description="Application name",
    )
    stage: str = Field(
        "dev",
        min_length=1,
        max_length=10,
        pattern=r"^[a-z][a-z0-9]*$",
        examples=["prod"],
        description="Stage (not `pipeline` or `events`: the app's CI/CD resources are named so)",
    )
    target: Literal["aws", "local"] = Field("aws", description="aws, or local for the embedded AWS")
    region: str | None = Field(
        None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", examples=["eu-west-1"], description="AWS region"
    )
    profile: str | None = Field(None, description="AWS profile")
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", examples=["http://127.0.0.1:4599"], description="AWS API endpoint override"
    )
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    endpoint: EndpointConfig = Field(default_factory=EndpointConfig)  # type: ignore[arg-type]
    training: TrainingConfig = Field(default_factory=TrainingConfig)  # type: ignore[arg-type]
    queue: QueueConfig = Field(default_factory=QueueConfig)  # type: ignore[arg-type]
    function: FunctionConfig = Field(default_factory=FunctionConfig)  # type: ignore[arg-type]
    alarm: AlarmConfig = Field(default_factory=AlarmConfig)  # type: ignore[arg-type]
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _stage_not_reserved(self) -> Config:
        for key, stage in [("stage", self.stage), *(("pipeline.stages", s) for s in self.pipeline.stages)]:
            problem = stage_problem(self.app, stage)
            if problem:
                reserved = " or ".join(reserved_stages())
                raise RuleError(f"{key}: {problem}", keys=(key,), hint=f"choose another stage name (not {reserved})")
        return self

    @model_validator(mode="after")
    def _cross_field(self) -> Config:
        fn = self.function
        # A message waits up to the batching window in the poller before the function runs, with
        # its visibility timeout already running: both must fit, or another poller gets it too.
        needed = fn.timeout_s + fn.batching_window_s
        if self.queue.visibility_timeout_s < needed:
            window = f" + function.batching_window_s ({fn.batching_window_s})" if fn.batching_window_s else ""
            recommended = 6 * fn.timeout_s + fn.batching_window_s
            raise RuleError(
                f"queue.visibility_timeout_s ({self.queue.visibility_timeout_s}) must be >= function.timeout_s "
                f"({fn.timeout_s}){window}; otherwise messages are processed twice or AWS rejects the event "
                f"source mapping (recommended: {recommended})",
                keys=("queue.visibility_timeout_s", "function.timeout_s", "function.batching_window_s"),
                hint=f"set queue.visibility_timeout_s: {recommended}, or lower function.timeout_s",
            )
        if self.queue.dlq_retention_s <= self.queue.retention_s:
            raise RuleError(
                f"queue.dlq_retention_s ({self.queue.dlq_retention_s}) must be > queue.retention_s "
                f"({self.queue.retention_s}): a message keeps its age when moved, so a shorter DLQ "
                "retention deletes failed messages",
                keys=("queue.dlq_retention_s", "queue.retention_s"),
                hint="raise queue.dlq_retention_s (at most 1209600, 14 days) or lower queue.retention_s",
            )
        problems = name_problems(self.app, self.stage, self.region)
        for stage in self.pipeline.stages:
            problems += [p for p in name_problems(self.app, stage, self.region) if p not in problems]
        if problems:
            raise RuleError(
                "app/stage give invalid AWS names: " + "; ".join(problems),
                keys=("app", "stage", "region", "pipeline.stages"),
                hint="shorten app (or stage)",
            )
        return self

    def warnings(self) -> list[str]:
        """Legal but unwise settings, reported by the commands that use them."""
        out = []
        recommended = 6 * self.function.timeout_s + self.function.batching_window_s
        if self.queue.visibility_timeout_s < recommended:
            out.append(
                f"queue.visibility_timeout_s {self.queue.visibility_timeout_s} < 6 x function.timeout_s + "
                f"batching window ({recommended}): AWS recommends it so retries do not overlap"
            )
        out += self.alarm.warnings()
        if self.queue.max_receive_count < 3:
            out.append(
                f"queue.max_receive_count {self.queue.max_receive_count} < 3: transient errors may reach the DLQ"
            )
        return out


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path | None
    # dotted key -> "file:LINE" | "env MLPIPE_X" | "option --x" | "default"
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def project_dir(self) -> Path | None:
        """The directory holding mlpipe.yaml (the project's handler/ lives there)."""
        return self.path.resolve().parent if self.path is not None else None


def _parse_file(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int], dict[tuple[str, ...], str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file", hint="run `mlpipe init` to create one, or pass --config PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
        lines = line_index(text)
        written = written_values(text)
        twice = duplicate_key(text)
    except yaml.YAMLError as exc:
        raise yaml_problem(path, exc) from None
    if twice:
        key, line, first = twice
        raise ConfigError(f"{path}:{line}: {key}: duplicate key (first at line {first})", hint="keep one of them")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of keys (app: ..., stage: ...), got {type(data).__name__}")
    return data, lines, written


def _env_overrides(env: Mapping[str, str]) -> dict[tuple[str, ...], tuple[Any, str, str]]:
    """key path -> (value, source, the variable's text)."""
    check_env(env, Config)
    out: dict[tuple[str, ...], tuple[Any, str, str]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or not raw:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if path[0] not in Config.model_fields:
            continue  # MLPIPE_DEBUG and friends are not config keys
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        out[path] = (value, f"env {name}", raw)
    return out


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def load_config(
    path: str | Path | None = DEFAULT_CONFIG_FILE,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Load and validate the config. `overrides` are dotted keys from command-line options."""
    env = os.environ if env is None else env
    file_path = Path(path) if path is not None else None
    data: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    written: dict[tuple[str, ...], str] = {}
    if file_path is not None:
        data, lines, written = _parse_file(file_path)
    sources = {".".join(key_path): f"{file_path}:{line}" for key_path, line in lines.items()}
    given = [(key_path, value, source, raw) for key_path, (value, source, raw) in _env_overrides(env).items()]
    for dotted, value in (overrides or {}).items():
        if value is not None:
            given.append((tuple(dotted.split(".")), value, f"option --{dotted.replace('_', '-')}", str(value)))
    for key_path, value, source, raw in given:
        _set(data, key_path, value)
        _forget(sources, written, key_path)  # what the file said under this key no longer counts
        sources[".".join(key_path)] = source
        written[key_path] = raw
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, Origins(file_path, sources, written), Config) from None
    return LoadedConfig(config=config, path=file_path, sources=sources)


def _forget(sources: dict[str, str], written: dict[tuple[str, ...], str], key_path: tuple[str, ...]) -> None:
    dotted = ".".join(key_path)
    for key in [k for k in sources if k == dotted or k.startswith(dotted + ".")]:
        del sources[key]
    for path in [p for p in written if p[: len(key_path)] == key_path]:
        del written[path]


def config_schema() -> dict[str, Any]:
    """JSON schema of mlpipe.yaml, for editors and the README's reference."""
    return Config.model_json_schema()

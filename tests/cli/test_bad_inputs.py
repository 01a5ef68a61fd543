"""Bad inputs in mlpipe.yaml and its overrides: each gives a one-line error naming the file, line,
key, value and what is allowed (one JSON object with -o json), a non-zero exit code, no traceback,
and creates nothing on the embedded AWS. Siblings: test_bad_inputs_flags.py, _env.py, _payloads.py.

Range and choice cases are generated from the config model, so every constrained key is covered.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
from battery import GOOD, Case, run_case

from mlpipe.aws.clients import Clients
from mlpipe.config import Config


def cfg(
    id: str,
    yaml: str | None,
    expect: str | tuple[str, ...],
    argv: tuple[str, ...] = ("deploy",),
    env: dict[str, str] | None = None,
    code: int = 3,  # ConfigError unless said otherwise
    json: bool = True,
    local: bool = True,
) -> Case:
    return Case(id, argv, expect, code, yaml=yaml, env=env or {}, json=json, local=local)


HAND_WRITTEN = [
    cfg("malformed-yaml", "app: [shop\n", "malformed YAML"),
    cfg("tab-indent", "app: shop\nqueue:\n\tsse: true\n", "malformed YAML"),
    cfg("not-a-mapping", "- app\n- shop\n", "expected a mapping"),
    cfg("unknown-top-key", GOOD + "colour: blue\n", "colour: unknown key"),
    cfg("unknown-nested-key", GOOD + "queue:\n  visiblity_timeout_s: 60\n", "queue.visiblity_timeout_s: unknown key"),
    cfg("missing-app", "stage: dev\n", "app: required key is missing"),
    cfg("uppercase-app", "app: Shop\n", "app: 'Shop' does not match"),
    cfg("app-too-long", "app: " + "a" * 25 + "\n", "app"),
    cfg("stage-with-dash", GOOD + "stage: my-stage\n", "stage: 'my-stage' does not match"),
    cfg("batch-size-zero", GOOD + "function:\n  batch_size: 0\n", "function.batch_size: 0 is out of range"),
    cfg("batch-size-huge", GOOD + "function:\n  batch_size: 20000\n", "must be <= 10000"),
    cfg(
        "big-batch-no-window",
        GOOD + "function:\n  batch_size: 20\n",
        "mlpipe.yaml:3: function.batch_size (20) > 10 needs function.batching_window_s >= 1",
    ),
    cfg("timeout-too-long", GOOD + "function:\n  timeout_s: 901\n", "function.timeout_s: 901 is out of range"),
    cfg("memory-too-small", GOOD + "function:\n  memory_mb: 100\n", "function.memory_mb: 100 is out of range"),
    cfg("log-retention-not-allowed", GOOD + "function:\n  log_retention_days: 31\n", "log_retention_days: 31 is not"),
    cfg("old-runtime", GOOD + "function:\n  runtime: python3.9\n", "runtime: 'python3.9' is not allowed"),
    cfg("timeout-not-a-number", GOOD + "function:\n  timeout_s: soon\n", "function.timeout_s"),
    cfg("retention-too-short", GOOD + "queue:\n  retention_s: 30\n", "queue.retention_s: 30 is out of range"),
    cfg(
        "visibility-below-timeout",
        GOOD + "queue:\n  visibility_timeout_s: 10\nfunction:\n  timeout_s: 60\n",
        "visibility_timeout_s (10) must be >= function.timeout_s (60)",
    ),
    cfg(
        "dlq-retention-not-longer", GOOD + "queue:\n  retention_s: 86400\n  dlq_retention_s: 86400\n", "dlq_retention_s"
    ),
    cfg("max-receive-zero", GOOD + "queue:\n  max_receive_count: 0\n", "max_receive_count: 0 is out of range"),
    cfg("alarm-threshold-zero", GOOD + "alarm:\n  dlq_threshold: 0\n", "alarm.dlq_threshold: 0 is out of range"),
    cfg("serverless-memory", GOOD + "endpoint:\n  memory_mb: 1000\n", "endpoint.memory_mb: 1000 is not allowed"),
    cfg("bad-region", GOOD + "region: moon\n", "region: 'moon' does not match"),
    cfg("env-override-out-of-range", GOOD, "env MLPIPE_FUNCTION__TIMEOUT_S", env={"MLPIPE_FUNCTION__TIMEOUT_S": "0"}),
    cfg("bad-stage-option", GOOD, "option --stage", argv=("--stage", "Prod", "deploy")),
    cfg("no-config-file", None, "mlpipe.yaml: no such file"),
    cfg("bad-output-option", GOOD, "--output", argv=("--output", "xml", "deploy"), code=2, json=False),
    cfg("init-bad-app", None, "--app 'Bad_App' is not a valid app name", argv=("init", "--app", "Bad_App"), code=2),
    cfg("init-existing-file", GOOD, "will not overwrite", argv=("init",), code=2),
    cfg("destroy-without-yes", GOOD, "needs confirmation", argv=("destroy",), code=2),
    cfg(
        "duplicate-top-key",
        "app: shop\nstage: dev\napp: other\n",
        "mlpipe.yaml:3: app: duplicate key (first at line 1)",
    ),
    cfg(
        "duplicate-nested-key",
        GOOD + "function:\n  timeout_s: 30\n  memory_mb: 256\n  timeout_s: 60\n",
        "mlpipe.yaml:5: function.timeout_s: duplicate key (first at line 3)",
    ),
    cfg(
        "unknown-key-suggests",
        GOOD + "function:\n  timout_s: 30\n",
        ("function.timout_s: unknown key", "function.timeout_s"),
    ),
    cfg(
        "env-unknown-section",
        GOOD,
        ("env MLPIPE_FUNCTON__TIMEOUT_S: unknown", "MLPIPE_FUNCTION__TIMEOUT_S"),
        env={"MLPIPE_FUNCTON__TIMEOUT_S": "60"},
    ),
    cfg("env-unknown-top", GOOD, ("env MLPIPE_STAEG: unknown variable", "MLPIPE_STAGE"), env={"MLPIPE_STAEG": "prod"}),
    cfg("env-unknown-nested", GOOD, "function.timout_s: unknown key", env={"MLPIPE_FUNCTION__TIMOUT_S": "60"}),
    cfg("env-bad-stage", GOOD, ("env MLPIPE_STAGE", "'Prod'"), env={"MLPIPE_STAGE": "Prod"}),
    cfg(
        "env-bad-target",
        GOOD,
        ("env MLPIPE_TARGET", "'moon' is not allowed"),
        env={"MLPIPE_TARGET": "moon"},
        local=False,
    ),
    cfg("config-is-a-directory", None, "cannot read", argv=("--config", ".", "deploy")),
    cfg("config-missing-option", None, "nowhere.yaml: no such file", argv=("--config", "nowhere.yaml", "deploy")),
    cfg("config-env-missing", None, "elsewhere.yaml: no such file", env={"MLPIPE_CONFIG": "elsewhere.yaml"}),
    cfg("empty-file", "", "app: required key is missing"),
    cfg("app-is-a-list", "app: [a, b]\n", "app"),
    cfg(
        "endpoint-url-not-http", GOOD + "endpoint_url: ftp://x\n", "endpoint_url: 'ftp://x' does not match", local=False
    ),
    cfg("three-pipeline-stages", GOOD + "pipeline:\n  stages: [dev, qa, prod]\n", "pipeline.stages"),
    cfg("bad-branch", GOOD + "pipeline:\n  branch: 'a b'\n", "pipeline.branch: 'a b' does not match"),
    cfg("connection-without-arn", GOOD + "pipeline:\n  source: connection\n", "connection_arn"),
    cfg("params-not-a-mapping", GOOD + "model:\n  params: 3\n", "model.params"),
    cfg("environment-not-strings", GOOD + "function:\n  environment: [a]\n", "function.environment"),
    cfg(
        "unencrypted-queue-unacknowledged",
        GOOD + "queue:\n  sse: false\n",
        "mlpipe.yaml:3: queue.sse: false stores every message unencrypted at rest; set "
        "queue.sse_acknowledge_unencrypted: true",
    ),
    cfg(
        "unpinned-install",
        GOOD + "pipeline:\n  install: somepkg\n",
        "pipeline.install: 'somepkg' is not pinned: name an exact version (somepkg==X.Y.Z)",
        argv=("bootstrap-pipeline",),
    ),
    cfg(
        "ranged-install",
        GOOD + "pipeline:\n  install: mlpipe-aws>=0.1\n",
        "pipeline.install: 'mlpipe-aws>=0.1' is not pinned",
        argv=("bootstrap-pipeline",),
    ),
]


def _bound(metadata: list[Any], *names: str) -> Any:
    return next((getattr(m, n) for m in metadata for n in names if hasattr(m, n)), None)


def generated() -> list[Case]:
    """For every constrained key of the model: a value just outside each bound, and a value outside
    each choice. The expected error names the dotted key and the value."""
    out = []
    for section_name, section in Config.model_fields.items():
        fields = getattr(section.annotation, "model_fields", None)
        if not isinstance(fields, dict):
            continue
        for name, info in fields.items():
            key = f"{section_name}.{name}"
            low, high = _bound(info.metadata, "ge"), _bound(info.metadata, "le")
            strict_low, strict_high = _bound(info.metadata, "gt"), _bound(info.metadata, "lt")
            values = []
            if low is not None:
                values.append(low - 1)
            if high is not None:
                values.append(high + 1)
            values += [v for v in (strict_low, strict_high) if v is not None]
            if typing.get_origin(info.annotation) is typing.Literal:
                choices = typing.get_args(info.annotation)
                values.append(7777 if isinstance(choices[0], int) else "bogus")
            for value in values:
                yaml = f"{GOOD}{section_name}:\n  {name}: {value}\n"
                shown = repr(value) if isinstance(value, str) else str(value)
                out.append(cfg(f"{key}={value}", yaml, f"{key}: {shown}"))
    return out


CASES = [*HAND_WRITTEN, *generated()]


def test_the_battery_covers_every_constrained_key() -> None:
    assert len(CASES) == len({c.id for c in CASES}) and len(generated()) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_gives_one_line_error_and_creates_nothing(
    case: Case,
    module_clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys)
    if case.id == "init-bad-app":
        assert list(tmp_path.iterdir()) == []

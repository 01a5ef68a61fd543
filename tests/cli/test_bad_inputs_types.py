"""Bad values in mlpipe.yaml that YAML read as something else (a number for text, text for a list),
rules across keys, and stage names that are mlpipe's own: the error line names where the value came
from (file:line, the environment variable, the option), the key and the value as written, and the
hint says the fix for that kind of mistake, never just "see the schema". Exit 3, nothing created.
Siblings: test_bad_inputs.py (ranges and choices of every key), _env.py, _flags.py, _payloads.py.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from battery import GOOD, Case, run_case

from mlpipe.aws.clients import Clients
from mlpipe.names import PIPELINE_SCOPE


def cfg(
    id: str,
    yaml: str | None,
    message: str,
    hint: str | None,
    argv: tuple[str, ...] = ("deploy", "--dry-run"),
    env: dict[str, str] | None = None,
) -> Case:
    """The error line (after `Error: `), and the hint (after `Hint: `; None: not checked)."""
    expect = (message,) + ((hint,) if hint else ())
    return Case(id, argv, expect, 3, yaml=yaml, env=env or {})


LONG_APP = "app: " + "a" * 24 + "\n"

# The new user's review (defect 6): YAML types, said in the user's terms with the fix.
TYPES = [
    cfg(
        "target-read-as-a-number",
        GOOD + "model:\n  target: 0\n",
        "mlpipe.yaml:3: model.target: 0 is a number, not text",
        'quote it, `target: "0"`: YAML read a number',
    ),
    cfg(
        "target-from-env-read-as-a-number",
        GOOD,
        "env MLPIPE_MODEL__TARGET: model.target: 0 is a number, not text",
        "quote it, `MLPIPE_MODEL__TARGET='\"0\"'`: YAML read a number",
        env={"MLPIPE_MODEL__TARGET": "0"},
    ),
    cfg(
        "python-version-read-as-a-number",
        GOOD + "pipeline:\n  python_version: 3.12\n",
        "mlpipe.yaml:3: pipeline.python_version: 3.12 is a number in YAML, not the text '3.12'",
        'quote it, `python_version: "3.12"`: YAML read a number',
    ),
    cfg(
        "python-version-shown-as-written",
        GOOD + "pipeline:\n  python_version: 3.10\n",
        "mlpipe.yaml:3: pipeline.python_version: 3.10 is not allowed: expected '3.11', '3.12' or '3.13'",
        'use one of 3.11, 3.12, 3.13, e.g. `python_version: "3.12"`',
    ),
    cfg(
        "notify-not-a-list",
        GOOD + "alarm:\n  notify: you@example.com\n",
        "mlpipe.yaml:3: alarm.notify: 'you@example.com' is text, not a list",
        "write a list, `notify: [you@example.com]`",
    ),
    cfg(
        "missing-values-not-a-list",
        GOOD + "model:\n  missing_values: NA\n",
        "mlpipe.yaml:3: model.missing_values: 'NA' is text, not a list",
        "write a list, `missing_values: [NA]`",
    ),
    cfg(
        "notify-item-a-number",
        GOOD + "alarm:\n  notify:\n    - 5\n",
        "mlpipe.yaml:4: alarm.notify.0: 5 is a number, not text",
        'quote it, `- "5"`: YAML read a number',
    ),
    cfg(
        "environment-value-a-number",
        GOOD + "function:\n  environment: {LEVEL: 1}\n",
        "mlpipe.yaml:3: function.environment.LEVEL: 1 is a number, not text",
        'quote it, `LEVEL: "1"`: YAML read a number',
    ),
    cfg(
        "params-not-a-mapping",
        GOOD + "model:\n  params: 3\n",
        "mlpipe.yaml:3: model.params: 3 is a number, not a mapping",
        "write a mapping, e.g. `params: {max_depth: 5, eta: 0.1, subsample: 0.9}`",
    ),
    cfg(
        "memory-quoted",
        GOOD + 'endpoint:\n  memory_mb: "2048"\n',
        "mlpipe.yaml:3: endpoint.memory_mb: '2048' is text (quoted), not the number 2048",
        "write it without quotes, `memory_mb: 2048`",
    ),
    cfg(
        "retention-with-a-unit",
        GOOD + "queue:\n  retention_s: 1 day\n",
        "mlpipe.yaml:3: queue.retention_s: '1 day' is not a whole number",
        "write a whole number (seconds) without quotes or units, e.g. `retention_s: 345600`",
    ),
    cfg(
        "sse-not-a-boolean",
        GOOD + "queue:\n  sse: maybe\n",
        "mlpipe.yaml:3: queue.sse: 'maybe' is not true or false",
        "write true or false, e.g. `sse: true`",
    ),
    cfg(
        "stage-a-number",
        GOOD + "stage: 123\n",
        "mlpipe.yaml:2: stage: 123 is a number, not text",
        "write one text value, e.g. `stage: prod`",
    ),
    cfg(
        "timeout-out-of-range-gives-the-range",
        GOOD + "function:\n  timeout_s: 901\n",
        "mlpipe.yaml:3: function.timeout_s: 901 is out of range: must be <= 900",
        "use 5 to 900 (seconds), e.g. `timeout_s: 30`",
    ),
    cfg(
        "timeout-from-env-out-of-range",
        GOOD,
        "env MLPIPE_FUNCTION__TIMEOUT_S: function.timeout_s: 0 is out of range: must be >= 5",
        "use 5 to 900 (seconds), e.g. `MLPIPE_FUNCTION__TIMEOUT_S=30`",
        env={"MLPIPE_FUNCTION__TIMEOUT_S": "0"},
    ),
    cfg(
        "region-pattern-gives-an-example",
        GOOD + "region: moon\n",
        "mlpipe.yaml:2: region: 'moon' does not match ^[a-z]{2}(-[a-z]+)+-\\d$",
        "e.g. `region: eu-west-1`",
    ),
    cfg(
        "three-stages",
        GOOD + "pipeline:\n  stages: [dev, qa, prod]\n",
        "mlpipe.yaml:3: pipeline.stages: 3 item(s): at most 2 allowed",
        "e.g. `stages: [dev, prod]`",
    ),
    cfg("app-missing", "stage: dev\n", "mlpipe.yaml: app: required key is missing", "add it, e.g. `app: house-prices`"),
    cfg(
        "runtime-choices",
        GOOD + "function:\n  runtime: python3.9\n",
        "mlpipe.yaml:3: function.runtime: 'python3.9' is not allowed: expected 'python3.12' or 'python3.13'",
        "use one of python3.12, python3.13, e.g. `runtime: python3.12`",
    ),
    cfg(
        "unknown-key-from-env-suggests-the-variable",
        GOOD,
        "env MLPIPE_FUNCTION__TIMOUT_S: function.timout_s: unknown key",
        "unset MLPIPE_FUNCTION__TIMOUT_S; did you mean MLPIPE_FUNCTION__TIMEOUT_S?",
        env={"MLPIPE_FUNCTION__TIMOUT_S": "60"},
    ),
    cfg(
        "unknown-key-without-a-guess",
        GOOD + "function:\n  xyzq: 1\n",
        "mlpipe.yaml:3: function.xyzq: unknown key",
        "remove it; `mlpipe config schema` lists the keys of function",
    ),
    cfg(
        "notify-not-an-address",
        GOOD + "alarm:\n  notify: [bob]\n",
        "mlpipe.yaml:3: alarm.notify: 'bob' not an e-mail address",
        "e.g. `notify: [you@example.com]`",
    ),
    cfg(
        "period-not-a-cloudwatch-period",
        GOOD + "alarm:\n  period_s: 45\n",
        "mlpipe.yaml:3: alarm.period_s: 45 is not a CloudWatch period: use 10, 30 or a multiple of 60",
        "e.g. `period_s: 60`",
    ),
    cfg(
        "empty-value",
        GOOD + "function:\n  timeout_s:\n",
        "mlpipe.yaml:3: function.timeout_s: no value (an empty key)",
        "give it a value, e.g. `timeout_s: 30`, or remove the key for the default",
    ),
    cfg(
        "section-not-a-mapping",
        GOOD + "function: 5\n",
        "mlpipe.yaml:2: function: 5 is a number, not a section of keys",
        "write its keys indented under `function:`, or delete the line for the defaults",
    ),
    cfg(
        "param-fits-no-type",
        GOOD + "model:\n  params: {max_depth: [1]}\n",
        "mlpipe.yaml:3: model.params.max_depth: [1] is a list, not a number or text",
        "write a number or text",
    ),
    cfg(
        "no-default-example-from-the-bound",
        GOOD + "function:\n  max_concurrency: many\n",
        "mlpipe.yaml:3: function.max_concurrency: 'many' is not a whole number",
        "write a whole number without quotes or units, e.g. `max_concurrency: 2`",
    ),
    # review minor: a bad hyperparameter is a configuration error (3) with its line, not usage (2)
    cfg(
        "params-out-of-range",
        GOOD + "model:\n  params:\n    eta: 0.3\n    max_depth: -5\n",
        "mlpipe.yaml:5: model.params max_depth=-5: must be >= 0",
        "change model.params.max_depth, or remove it for XGBoost's default",
        argv=("train",),
    ),
    cfg(
        "params-unknown-flow-style",
        GOOD + "model:\n  params: {max_depth: 4, colour: 1}\n",
        "mlpipe.yaml:3: model.params: unknown hyperparameter 'colour'",
        "known: alpha,",
        argv=("train",),
    ),
]

# YAML syntax: the line to fix (where a bracket or quote opened) and the fix for the usual mistakes.
SYNTAX = [
    cfg(
        "tab-indent",
        GOOD + "queue:\n\tsse: true\n",
        "mlpipe.yaml:3: malformed YAML: found character '\\t' that cannot start any token",
        "YAML forbids tabs: indent with spaces",
    ),
    cfg(
        "unclosed-bracket",
        "app: [shop\n",
        "mlpipe.yaml:1: malformed YAML: expected ',' or ']', but got '<stream end>'",
        "close the [ opened on line 1 with ']'",
    ),
    cfg(
        "unclosed-quote",
        GOOD + 'model:\n  target: "price\n',
        "mlpipe.yaml:3: malformed YAML: found unexpected end of stream",
        "close the quote opened on line 3",
    ),
    cfg(
        "colon-in-a-value",
        GOOD + "model:\n  target: a: b\n",
        "mlpipe.yaml:3: malformed YAML: mapping values are not allowed here",
        "quote a value that holds ': ' (`target: \"a: b\"`), or indent this key as deep as its neighbours",
    ),
    cfg(
        "reserved-first-character",
        GOOD + "model:\n  data: @train.csv\n",
        "mlpipe.yaml:3: malformed YAML: found character '@' that cannot start any token",
        "quote the value: YAML reserves '@', '`', '*', '&', '!' and '%' at its start",
    ),
]

# Defect 8: a rule across keys names where the values came from, as a key's own error does.
RULES = [
    cfg(
        "visibility-rule-names-its-line",
        GOOD + "queue:\n  visibility_timeout_s: 10\n",
        "mlpipe.yaml:3: queue.visibility_timeout_s (10) must be >= function.timeout_s (30);",
        "set queue.visibility_timeout_s: 180, or lower function.timeout_s",
    ),
    cfg(
        "visibility-rule-names-the-variable",
        GOOD,
        "env MLPIPE_FUNCTION__TIMEOUT_S: queue.visibility_timeout_s (180) must be >= function.timeout_s (600);",
        "set queue.visibility_timeout_s: 3600, or lower function.timeout_s",
        env={"MLPIPE_FUNCTION__TIMEOUT_S": "600"},
    ),
    cfg(
        "visibility-rule-names-line-and-variable",
        GOOD + "queue:\n  visibility_timeout_s: 100\n",
        "mlpipe.yaml:3, env MLPIPE_FUNCTION__TIMEOUT_S: queue.visibility_timeout_s (100) must be >= "
        "function.timeout_s (600);",
        "set queue.visibility_timeout_s: 3600",
        env={"MLPIPE_FUNCTION__TIMEOUT_S": "600"},
    ),
    cfg(
        "dlq-retention-rule-names-its-line",
        GOOD + "queue:\n  retention_s: 86400\n  dlq_retention_s: 86400\n",
        "mlpipe.yaml:4: queue.dlq_retention_s (86400) must be > queue.retention_s (86400):",
        "raise queue.dlq_retention_s (at most 1209600, 14 days) or lower queue.retention_s",
    ),
    cfg(
        "dlq-retention-rule-names-the-variable",
        GOOD,
        "env MLPIPE_QUEUE__RETENTION_S: queue.dlq_retention_s (1209600) must be > queue.retention_s (1209600):",
        "raise queue.dlq_retention_s",
        env={"MLPIPE_QUEUE__RETENTION_S": "1209600"},
    ),
    cfg(
        "batch-rule-names-the-variable",
        GOOD,
        "env MLPIPE_FUNCTION__BATCH_SIZE: function.batch_size (20) > 10 needs function.batching_window_s >= 1",
        "set function.batching_window_s: 1 (seconds), or function.batch_size: 10 or less",
        env={"MLPIPE_FUNCTION__BATCH_SIZE": "20"},
    ),
    cfg(
        "sse-rule-names-the-variable",
        GOOD,
        "env MLPIPE_QUEUE__SSE: queue.sse: false stores every message unencrypted at rest",
        None,
        env={"MLPIPE_QUEUE__SSE": "false"},
    ),
    cfg(
        "names-rule-names-file-and-option",
        LONG_APP,
        "mlpipe.yaml:1, option --stage: app/stage give invalid AWS names: "
        f"'{'a' * 24}-abcdefghij-models-000000000000-ap-southeast-5' is 70 characters",
        "shorten app (or stage)",
        argv=("--stage", "abcdefghij", "deploy", "--dry-run"),
    ),
]

# Defect 2: a stage named like the app's CI/CD resources would act on them (destroy deleted the
# CI/CD's boundary), wherever the stage name comes from.
PIPELINE = "'pipeline' is reserved: it names shop's CI/CD resources (shop-pipeline-boundary, tag mlpipe:stage=pipeline)"
RESERVED = "choose another stage name (not events or pipeline)"
STAGES = [
    cfg("stage-pipeline-in-file", GOOD + "stage: pipeline\n", f"mlpipe.yaml:2: stage: {PIPELINE}", RESERVED),
    cfg(
        "stage-pipeline-option-destroy",
        GOOD,
        f"option --stage: stage: {PIPELINE}",
        RESERVED,
        argv=("--stage", "pipeline", "destroy", "--yes"),
    ),
    cfg("stage-pipeline-env", GOOD, f"env MLPIPE_STAGE: stage: {PIPELINE}", RESERVED, env={"MLPIPE_STAGE": "pipeline"}),
    cfg(
        "stage-events",
        GOOD + "stage: events\n",
        "mlpipe.yaml:2: stage: 'events' is reserved: it names shop's CI/CD resources (shop-events-role)",
        RESERVED,
    ),
    cfg(
        "pipeline-stages-pipeline",
        GOOD + "pipeline:\n  stages: [dev, pipeline]\n",
        f"mlpipe.yaml:3: pipeline.stages: {PIPELINE}",
        RESERVED,
        argv=("bootstrap-pipeline",),
    ),
    cfg(
        "init-stage-pipeline",
        None,
        "option --stage: stage: 'pipeline' is reserved",
        RESERVED,
        argv=("--stage", "pipeline", "init", "--app", "shop"),
    ),
]

CASES = [*TYPES, *SYNTAX, *RULES, *STAGES]


def test_no_case_is_given_twice() -> None:
    assert len(CASES) == len({c.id for c in CASES})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_value_names_where_and_the_fix(
    case: Case,
    module_clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys)
    if case.id == "init-stage-pipeline":
        assert list(tmp_path.iterdir()) == []


def test_stage_pipeline_destroy_leaves_the_cicd_boundary(
    module_clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The review's case: after bootstrap-pipeline, `--stage pipeline destroy --yes` deleted the CI/CD
    boundary (its name and tags are the stage's). Now the stage is refused before any call."""
    iam = module_clients.client("iam")
    cicd = module_clients.names("shop", PIPELINE_SCOPE)

    def bootstrapped(clients: Clients) -> None:
        iam.create_policy(
            PolicyName=cicd.boundary_policy,
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
            '"Resource": "*"}]}',
            Tags=[{"Key": k, "Value": v} for k, v in cicd.tags.items()],
        )

    case = Case(
        "stage-pipeline-destroy",
        ("--stage", "pipeline", "destroy", "--yes"),
        (f"option --stage: stage: {PIPELINE}", RESERVED),
        3,
        deployed=True,
    )
    try:
        run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys, deploy=bootstrapped)
        iam.get_policy(PolicyArn=cicd.boundary_arn)  # still there
    finally:
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):  # destroy deleted it: failed above
            iam.delete_policy(PolicyArn=cicd.boundary_arn)

"""Bad command lines: unknown commands and options, missing and out-of-range values, combinations
that make no sense. One line naming the flag, the value and the fix; nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest
from battery import GOOD, Case, run_case

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients

DATA = str(BOSTON_CSV)


def usage(
    id: str, *argv: str, expect: str | tuple[str, ...], code: int = 2, json: bool = True, deployed: bool = False
) -> Case:
    return Case(id, argv, expect, code, json=json, deployed=deployed)


CASES = [
    # typer's own parsing: one line and the command whose --help lists the options
    usage("unknown-command", "deploi", expect=("No such command 'deploi'", "`mlpipe --help`")),
    usage("unknown-option", "deploy", "--colour", expect=("No such option: --colour", "`mlpipe deploy --help`")),
    usage("unknown-subcommand", "tail", "log", expect="No such command 'log'"),
    usage("option-missing-value", "tail", "logs", "--since", expect=("'--since' requires an argument", "tail logs")),
    usage("int-not-a-number", "tail", "dlq", "--limit", "ten", expect=("--limit", "valid integer", "got 'ten'")),
    usage("limit-zero", "tail", "dlq", "--limit", "0", expect=("--limit", "greater than or equal to 1", "got '0'")),
    usage(
        "limit-too-big",
        "tail",
        "dlq",
        "--limit",
        "1001",
        expect=("--limit", "less than or equal to 1000", "got '1001'"),
    ),
    usage("workers-zero", "send", "--payload", "1,2,3", "--workers", "0", expect=("--workers", "got '0'")),
    usage("workers-too-many", "send", "--payload", "1,2,3", "--workers", "33", expect=("--workers", "got '33'")),
    usage("timeout-not-a-number", "send", "--payload", "1", "--timeout", "soon", expect=("--timeout", "got 'soon'")),
    usage("demo-rows-zero", "demo", "--rows", "0", expect=("--rows", "got '0'")),
    usage("demo-rows-too-many", "demo", "--rows", "51", expect=("--rows", "less than or equal to 50", "got '51'")),
    usage(
        "demo-port-too-big", "demo", "--port", "99999", expect=("--port", "less than or equal to 65535", "got '99999'")
    ),
    usage("demo-timeout-zero", "demo", "--timeout", "0", expect=("--timeout", "got '0'")),
    usage("seed-negative", "train", "--seed", "-1", expect=("--seed", "got '-1'")),
    usage("pipeline-interval-zero", "tail", "pipeline", "--interval", "0", expect=("--interval", "got '0'")),
    usage("pipeline-max-negative", "tail", "pipeline", "--max-seconds", "-1", expect=("--max-seconds", "got '-1'")),
    usage("local-logs-lines-text", "local", "logs", "--lines", "many", expect=("--lines", "got 'many'")),
    usage(
        "output-xml", "--output", "xml", "status", expect=("--output", "'xml' is not one of: text, json"), json=False
    ),
    usage("output-after-xml", "status", "--output", "yaml", expect="'yaml' is not one of: text, json", json=False),
    usage("output-no-value", "status", "-o", expect="'' is not one of: text, json", json=False),
    usage("validate-and-no", "send", "--payload", "1", "--validate=no", expect="--validate"),
    # mlpipe's own checks of values and combinations
    Case("stage-uppercase", ("--stage", "Prod", "deploy"), ("option --stage", "'Prod'"), 3),
    Case("stage-too-long", ("--stage", "abcdefghijk", "status"), ("option --stage", "stage"), 3),
    Case("region-not-a-region", ("--region", "moon", "deploy"), ("option --region", "'moon'"), 3, local=False),
    Case("since-garbage", ("tail", "logs", "--since", "yesterday"), ("--since 'yesterday'", "10m"), 2),
    Case("since-too-far", ("tail", "logs", "--since", "99999999d"), ("--since '99999999d'", "3653d"), 2),
    Case("since-before-1970", ("tail", "logs", "--since", "1900-01-01"), ("--since '1900-01-01'", "before 1970"), 2),
    Case("since-bad-iso", ("tail", "logs", "--since", "2026-13-45"), "--since '2026-13-45'", 2),
    Case("send-nothing", ("send",), ("--payload", "--json", "--file"), 2, deployed=True),
    Case("send-payload-and-json", ("send", "--payload", "1", "--json", "{}"), "exactly one of", 2, deployed=True),
    Case(
        "send-negative-timeout",
        ("send", "--payload", "1,2,3", "--wait", "--timeout", "-5"),
        "--timeout -5",
        2,
        deployed=True,
    ),
    Case(
        "send-rows-per-message-zero",
        ("send", "--file", "rows.csv", "-n", "0"),
        "--rows-per-message 0",
        2,
        files={"rows.csv": "1,2,3\n"},
        deployed=True,
    ),
    Case("send-missing-file", ("send", "--file", "nope.csv"), ("nope.csv: no such file", "--file"), 2),
    Case("send-file-is-a-directory", ("send", "--file", "sub"), ("sub", "cannot read"), 2, files={"sub/x": ""}),
    Case("destroy-force-alone", ("destroy", "--force", "--yes"), ("--force only applies with --pipeline",), 2),
    Case("destroy-no-yes-no-tty", ("destroy", "--pipeline"), ("needs confirmation", "--yes"), 2),
    Case("train-param-no-equals", ("train", "--data", DATA, "--target", "0", "--param", "max_depth"), "key=value", 2),
    Case("train-missing-data", ("train", "--data", "missing.csv"), "missing.csv: no such file", 2),
    Case("train-bad-target", ("train", "--data", DATA, "--target", "price"), "target column 'price'", 8),
    Case("train-rollback-with-data", ("train", "--rollback", "--data", DATA), "--rollback trains nothing", 2),
    Case("train-rollback-nothing", ("train", "--rollback"), "no model trained for shop-dev", 7),
    Case(
        "train-metrics-unwritable",
        ("train", "--data", DATA, "--target", "0", "--metrics-out", "no/dir/m.json"),
        ("no/dir/m.json: cannot write the metrics", "--metrics-out"),
        2,
    ),
    Case("init-bad-app", ("init", "--app", "Bad_App"), "--app 'Bad_App'", 2, yaml=None),
    Case("init-app-too-long", ("init", "--app", "a" * 30), "--app", 2, yaml=None),
    Case("init-exists", ("init",), ("will not overwrite", "--force"), 2),
    Case("init-no-such-dir", ("--config", "nowhere/mlpipe.yaml", "init"), "nowhere: no such directory", 2, yaml=None),
    Case("demo-missing-data", ("demo", "--data", "missing.csv"), "missing.csv: no such file", 2),
    Case("demo-foreign-dir", ("demo", "--dir", "."), "not a demo project", 2),
    Case("redrive-nothing-deployed", ("redrive",), "shop-dev", 7),
    Case("tail-dlq-nothing-deployed", ("tail", "dlq"), "shop-dev", 7),
    Case("send-nothing-deployed", ("send", "--payload", "1,2,3"), "shop-dev", 7),
    Case("iam-policy-bad-account", ("iam-policy", "--account", "12"), ("--account", "12"), 2),
    Case("iam-policy-bad-command", ("iam-policy", "--commands", "fly"), "fly", 2),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_flag_gives_one_line_error_and_creates_nothing(
    case: Case,
    module_clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert case.yaml in (GOOD, None)
    run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys)

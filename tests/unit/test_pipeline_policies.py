"""The CI/CD roles' policies: linted by parliament, no write on "*", no FullAccess, scoped to the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.ops.bootstrap import PIPELINE_SCOPE, role_specs
from mlpipe.policies.build_role import UNSCOPED_WRITES, build_role_policy
from mlpipe.policies.pipeline_role import pipeline_role_policy

SRC = Path(__file__).resolve().parents[2] / "src" / "mlpipe"
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"
CONFIGS = {
    "codecommit, one stage": {"app": "house"},
    "codecommit, dev and prod": {"app": "house", "pipeline": {"stages": ["dev", "prod"]}},
    "connection": {
        "app": "house",
        "pipeline": {"source": "connection", "connection_arn": CONNECTION, "repository_id": "me/house"},
    },
}
NAMES = Names(app="house", stage=PIPELINE_SCOPE, region="eu-west-1", account="123456789012")


def _access_levels() -> dict[str, str]:
    import parliament

    definition = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    return {
        f"{svc['prefix']}:{p['privilege']}".lower(): p["access_level"] for svc in definition for p in svc["privileges"]
    }


ACCESS = _access_levels()


def _all_policies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for label, raw in CONFIGS.items():
        config = Config.model_validate(raw)
        for spec, _ in role_specs(config, NAMES):
            out.append((f"{label}: {spec.name}", spec.policy))
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"]
    return [resources] if isinstance(resources, str) else list(resources)


@pytest.mark.parametrize(("label", "policy"), _all_policies(), ids=[label for label, _ in _all_policies()])
def test_parliament_reports_no_findings(label: str, policy: dict[str, Any]) -> None:
    # parliament's own auditors (what `parliament --file` runs). Its optional community auditors also
    # flag what any deployer must be able to do (pass the Lambda role, update the function's code):
    # see test_build_role_cannot_create_roles_and_passes_only_the_lambda_roles for how that is bounded.
    analyzed = analyze_policy_string(json.dumps(policy))
    assert [(f.issue, f.detail) for f in analyzed.findings] == []


@pytest.mark.parametrize(("label", "policy"), _all_policies(), ids=[label for label, _ in _all_policies()])
def test_no_write_action_on_star(label: str, policy: dict[str, Any]) -> None:
    for statement in policy["Statement"]:
        if "*" not in _resources(statement):
            continue
        for action in _actions(statement):
            level = ACCESS[action.lower()]
            if level in ("Read", "List"):
                continue
            # The only exception: an action IAM gives no resource type, scoped by its condition key
            # to this app's own functions.
            assert action in UNSCOPED_WRITES, f"{label}: {action} ({level}) on '*'"
            condition = statement["Condition"]["ArnLike"][UNSCOPED_WRITES[action]]
            assert condition and all(":function:house-" in arn for arn in condition)
            assert len(condition) == 1  # one build role per stage: its own stage's function only


def test_every_action_exists_and_no_wildcard_actions() -> None:
    for label, policy in _all_policies():
        for statement in policy["Statement"]:
            for action in _actions(statement):
                assert "*" not in action, f"{label}: wildcard action {action}"
                assert action.lower() in ACCESS, f"{label}: unknown action {action}"


def test_no_full_access_managed_policy_anywhere() -> None:
    for label, policy in _all_policies():
        assert "FullAccess" not in json.dumps(policy), label
    # No role mlpipe creates attaches a managed policy: there is no code path that could.
    sources = [p for p in SRC.rglob("*.py")]
    assert sources
    offenders = [str(p) for p in sources if "FullAccess" in p.read_text() or "attach_role_policy" in p.read_text()]
    assert offenders == []


def test_build_role_cannot_create_roles_and_passes_only_the_lambda_roles() -> None:
    config = Config.model_validate(CONFIGS["codecommit, dev and prod"])
    policy = build_role_policy(config, NAMES, "prod")
    actions = {a for s in policy["Statement"] for a in _actions(s)}
    assert not {a for a in actions if a.startswith("iam:") and a.split(":")[1].startswith(("Create", "Put", "Attach"))}
    mappings = [s for s in policy["Statement"] if any(":event-source-mapping:" in r for r in _resources(s))]
    # Mapping ARNs hold only a UUID: every action on them is conditioned on this app's functions,
    # except tagging a mapping on creation (TagResource has no function condition key).
    conditioned = [s for s in mappings if _actions(s) != ["lambda:TagResource"]]
    assert conditioned and all("house-prod-" in json.dumps(s["Condition"]["ArnLike"]) for s in conditioned)
    (tagging,) = [s for s in mappings if s not in conditioned]
    # Tagging a new mapping: only with this stage's tags, on a mapping untagged or already its own.
    requested, existing = tagging["Condition"]["StringEquals"], tagging["Condition"]["StringEqualsIfExists"]
    assert requested["aws:RequestTag/mlpipe:app"] == existing["aws:ResourceTag/mlpipe:app"] == "house"
    assert requested["aws:RequestTag/mlpipe:stage"] == existing["aws:ResourceTag/mlpipe:stage"] == "prod"
    passes = [s for s in policy["Statement"] if "iam:PassRole" in _actions(s)]
    assert len(passes) == 1
    assert sorted(_resources(passes[0])) == ["arn:aws:iam::123456789012:role/house-prod-predict-role"]
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_every_scoped_resource_names_this_app() -> None:
    for label, policy in _all_policies():
        for statement in policy["Statement"]:
            for arn in _resources(statement):
                if arn == "*" or arn == CONNECTION or ":event-source-mapping:" in arn:
                    continue  # mappings have random ids: scoped by the lambda:FunctionArn condition instead
                resource = arn.split(":", 5)[5]
                assert "house" in resource, f"{label}: {arn} is not scoped to the app"


def test_pipeline_role_uses_the_connection_only_with_a_connection_source() -> None:
    commit = pipeline_role_policy(Config.model_validate(CONFIGS["codecommit, one stage"]), NAMES)
    conn = pipeline_role_policy(Config.model_validate(CONFIGS["connection"]), NAMES)
    assert "codeconnections:UseConnection" not in json.dumps(commit)
    assert "codecommit:GetBranch" in json.dumps(commit)
    source = next(s for s in conn["Statement"] if s["Sid"] == "Source")
    assert source["Action"] == ["codeconnections:UseConnection"] and source["Resource"] == [CONNECTION]
    assert "codecommit:" not in json.dumps(conn)


def test_service_roles_other_than_lambda_are_scoped_to_the_account() -> None:
    from mlpipe.policies.trust import trust_policy

    for service in ("codebuild.amazonaws.com", "codepipeline.amazonaws.com", "sagemaker.amazonaws.com"):
        (statement,) = trust_policy(service, "111122223333")["Statement"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert "Condition" not in trust_policy("lambda.amazonaws.com", "111122223333")["Statement"][0]

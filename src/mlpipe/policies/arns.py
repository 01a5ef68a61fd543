"""ARNs and conditions that scope a statement to one app and stage, and to nothing of another app.

App names may contain '-' (`proj` and `proj-dev` are both valid), so a prefix pattern such as
`proj-dev-*` also matches the app `proj-dev`. Where mlpipe knows a name up front the ARN is exact.
Where it does not (a trained version: `{app}-{stage}-YYYYMMDD-HHMMSS[-N]`), the pattern spells the
version's shape with `?` (one character each) and no `*`: every name of another app or stage that
starts with `{app}-{stage}-` is longer, or has no '-' where the version has one (stages are
[a-z][a-z0-9]*, without '-'; the version is digits). tests/unit/test_policies_apps.py checks it
with the IAM evaluator against adversarial app and stage names.
"""

from __future__ import annotations

from typing import Any

from mlpipe.names import Names
from mlpipe.policies.statements import arn

# YYYYMMDD-HHMMSS, then an optional -N (N < 100) when two versions share a second.
VERSION_SHAPES = ("????????-??????", "????????-??????-?", "????????-??????-??")


def versioned(names: Names, service: str, kind: str) -> list[str]:
    """ARNs of every version of this app/stage's SageMaker models, endpoint configs or training jobs."""
    prefix = names.prefix.lower()  # SageMaker ARNs are lowercase
    return [arn(names, service, f"{kind}/{prefix}-{shape}") for shape in VERSION_SHAPES]


def sagemaker_arns(names: Names) -> list[str]:
    """The endpoint, and the models and endpoint configs train creates (`{app}-{stage}-<version>`)."""
    return [
        names.endpoint_arn,
        *versioned(names, "sagemaker", "endpoint-config"),
        *versioned(names, "sagemaker", "model"),
    ]


def training_job_arns(names: Names) -> list[str]:
    return versioned(names, "sagemaker", "training-job")


def queue_arns(names: Names) -> list[str]:
    return [names.queue_arn(q) for q in (names.trigger_queue, names.dlq, names.results_queue)]


def alarm_arns(names: Names) -> list[str]:
    return [names.alarm_arn(a) for a in names.alarms]


def in_account(names: Names) -> dict[str, Any]:
    """Condition for every S3 statement: the bucket must belong to this account (bucket names are
    global, so a same-named bucket of another account would otherwise match the ARN)."""
    return {"StringEquals": {"s3:ResourceAccount": names.account}}


def tagged_for(names: Names) -> dict[str, Any]:
    """Condition for tagging what has no name of its own (event source mappings): only with this
    app/stage's tags, and only on a resource that is untagged or already this app/stage's (IfExists:
    a mapping being created has no tags yet)."""
    return {
        "StringEquals": {"aws:RequestTag/mlpipe:app": names.app, "aws:RequestTag/mlpipe:stage": names.stage},
        "StringEqualsIfExists": {
            "aws:ResourceTag/mlpipe:app": names.app,
            "aws:ResourceTag/mlpipe:stage": names.stage,
        },
    }

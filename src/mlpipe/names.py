"""Every physical name and ARN, derived from app + stage (+ account and region). Never stored.

Each derived name is checked against its service's naming rules when the config is loaded, so a
bad app or stage fails before any API call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG_APP = "mlpipe:app"
TAG_STAGE = "mlpipe:stage"
PIPELINE_SCOPE = "pipeline"  # the mlpipe:stage tag of resources shared by all of an app's stages

# (pattern, max length, service description) for each kind of name.
_RULES: dict[str, tuple[str, int, str]] = {
    "sqs": (r"[A-Za-z0-9_-]+", 80, "SQS queue names: up to 80 of [A-Za-z0-9_-]"),
    "lambda": (r"[A-Za-z0-9_-]+", 64, "Lambda function names: up to 64 of [A-Za-z0-9_-]"),
    "sagemaker": (
        r"[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        63,
        "SageMaker names: up to 63 of [a-zA-Z0-9-], no leading or trailing '-'",
    ),
    "iam": (r"[\w+=,.@-]+", 64, "IAM role names: up to 64 of [A-Za-z0-9+=,.@_-]"),
    "s3": (
        r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        63,
        "S3 bucket names: 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit",
    ),
    "codebuild": (r"[A-Za-z0-9][A-Za-z0-9_-]*", 255, "CodeBuild project names: [A-Za-z0-9_-]"),
    "codepipeline": (r"[A-Za-z0-9.@_-]+", 100, "CodePipeline names: up to 100 of [A-Za-z0-9.@_-]"),
    "codecommit": (r"[\w.-]+", 100, "CodeCommit repository names: up to 100 of [A-Za-z0-9_.-]"),
    "alarm": (r"[^\x00-\x1f]+", 255, "CloudWatch alarm names: up to 255 printable characters"),
    "sns": (r"[A-Za-z0-9_-]+", 256, "SNS topic names: up to 256 of [A-Za-z0-9_-]"),
}

# Longest region name and a 12-digit account: names are checked at config load for the worst case
# when the real account is not known yet.
PLACEHOLDER_ACCOUNT = "000000000000"
LONGEST_REGION = "ap-southeast-5"


def check_name(kind: str, name: str) -> str | None:
    """Return why `name` breaks the naming rules of `kind`, or None when it is valid."""
    pattern, max_len, rule = _RULES[kind]
    if len(name) > max_len:
        return f"'{name}' is {len(name)} characters; {rule}"
    if kind == "s3" and len(name) < 3:
        return f"'{name}' is too short; {rule}"
    if not re.fullmatch(pattern, name):
        return f"'{name}' is not allowed; {rule}"
    if kind == "s3":
        from mlpipe.aws_rules import bucket_name_problem

        why = bucket_name_problem(name)
        return f"S3 bucket name '{name}' {why}" if why else None
    return None


@dataclass(frozen=True)
class Names:
    app: str
    stage: str
    region: str
    account: str
    partition: str = "aws"

    # --- inference architecture (per app and stage) ---------------------------------------
    @property
    def prefix(self) -> str:
        return f"{self.app}-{self.stage}"

    @property
    def trigger_queue(self) -> str:
        return f"{self.prefix}-trigger"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}-dlq"

    @property
    def results_queue(self) -> str:
        return f"{self.prefix}-results"

    @property
    def function(self) -> str:
        return f"{self.prefix}-predict"

    @property
    def lambda_role(self) -> str:
        return f"{self.prefix}-predict-role"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function}"

    @property
    def dlq_alarm(self) -> str:
        return f"{self.prefix}-dlq-not-empty"

    @property
    def errors_alarm(self) -> str:
        return f"{self.prefix}-function-errors"

    @property
    def age_alarm(self) -> str:
        return f"{self.prefix}-oldest-message-age"

    @property
    def alarms(self) -> tuple[str, ...]:
        return (self.dlq_alarm, self.errors_alarm, self.age_alarm)

    @property
    def alarm_topic(self) -> str:
        return f"{self.prefix}-alarms"

    def topic_arn(self, topic: str) -> str:
        return f"arn:{self.partition}:sns:{self.region}:{self.account}:{topic}"

    def alarm_arn(self, alarm: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{alarm}"

    @property
    def endpoint(self) -> str:
        return self.prefix

    @property
    def model_bucket(self) -> str:
        return f"{self.prefix}-models-{self.account}-{self.region}"

    @property
    def sagemaker_role(self) -> str:
        return f"{self.prefix}-sagemaker-role"

    def model_name(self, version: str) -> str:
        """SageMaker model / endpoint config name for one trained version (a timestamp)."""
        return f"{self.prefix}-{version}"

    # --- CI/CD (per app; the pipeline deploys each stage) -----------------------------------
    @property
    def repository(self) -> str:
        return self.app

    @property
    def pipeline(self) -> str:
        return f"{self.app}-pipeline"

    @property
    def pipeline_role(self) -> str:
        return f"{self.app}-pipeline-role"

    def build_role(self, stage: str) -> str:
        """One build role per stage, so the dev build (before the approval) cannot touch prod."""
        return f"{self.app}-{stage}-build-role"

    @property
    def boundary_policy(self) -> str:
        """The managed permissions boundary every role of this app and stage carries (the CI/CD
        roles: the one of the PIPELINE_SCOPE)."""
        return f"{self.prefix}-boundary"

    @property
    def boundary_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{self.boundary_policy}"

    @property
    def artifact_bucket(self) -> str:
        return f"{self.app}-pipeline-{self.account}-{self.region}"

    @property
    def events_rule(self) -> str:
        """The EventBridge rule that starts the pipeline on a push to the CodeCommit branch."""
        return f"{self.app}-pipeline-trigger"

    @property
    def events_role(self) -> str:
        """The role EventBridge uses to start the pipeline (codepipeline:StartPipelineExecution only)."""
        return f"{self.app}-events-role"

    def events_rule_arn(self) -> str:
        return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{self.events_rule}"

    def build_project(self, stage: str) -> str:
        return f"{self.app}-{stage}-deploy"

    def build_log_group(self, stage: str) -> str:
        """CloudWatch Logs group of a stage's CodeBuild project (AWS's default name for it)."""
        return f"/aws/codebuild/{self.build_project(stage)}"

    def repository_arn(self) -> str:
        return f"arn:{self.partition}:codecommit:{self.region}:{self.account}:{self.repository}"

    def pipeline_arn(self) -> str:
        return f"arn:{self.partition}:codepipeline:{self.region}:{self.account}:{self.pipeline}"

    def build_project_arn(self, stage: str) -> str:
        return f"arn:{self.partition}:codebuild:{self.region}:{self.account}:project/{self.build_project(stage)}"

    # --- ARNs ------------------------------------------------------------------------------
    def queue_arn(self, queue_name: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{queue_name}"

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{role_name}"

    @property
    def function_arn(self) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.function}"

    @property
    def endpoint_arn(self) -> str:
        # SageMaker lowercases endpoint names in ARNs; IAM must match the lowercased form.
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:endpoint/{self.endpoint.lower()}"

    def log_group_arn(self, log_group: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{log_group}"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    @property
    def tags(self) -> dict[str, str]:
        return {TAG_APP: self.app, TAG_STAGE: self.stage}

    def owns(self, tags: dict[str, str] | None) -> bool:
        """True when a resource's tags say it belongs to this app and stage."""
        tags = tags or {}
        return tags.get(TAG_APP) == self.app and tags.get(TAG_STAGE) == self.stage

    def checked(self) -> list[tuple[str, str]]:
        """(kind, name) for every derived name, to validate against the service rules."""
        return [
            ("sqs", self.trigger_queue),
            ("sqs", self.dlq),
            ("sqs", self.results_queue),
            ("lambda", self.function),
            ("iam", self.lambda_role),
            ("iam", self.sagemaker_role),
            ("sagemaker", self.endpoint),
            ("sagemaker", self.model_name("20261126-212110")),
            ("s3", self.model_bucket),
            ("alarm", self.dlq_alarm),
            ("alarm", self.errors_alarm),
            ("alarm", self.age_alarm),
            ("sns", self.alarm_topic),
            ("codecommit", self.repository),
            ("codepipeline", self.pipeline),
            ("iam", self.pipeline_role),
            ("iam", self.build_role(self.stage)),
            ("iam", self.events_role),
            ("iam", self.boundary_policy),
            ("s3", self.artifact_bucket),
            ("codebuild", self.build_project(self.stage)),
        ]


def topic_log_group(topic_arn: str) -> str:
    """The log group named like an SNS topic's delivery-status logs (`sns/<region>/<account>/<topic>`);
    the embedded AWS delivers alarm e-mails there, `tail alarms` reads it."""
    _, _, _, region, account, topic = topic_arn.split(":", 5)
    return f"sns/{region}/{account}/{topic}"


def app_level_names(app: str) -> list[str]:
    """The names of an app's CI/CD resources, shared by all its stages: the PIPELINE_SCOPE's (the
    boundary, the mlpipe:stage tag) and the ones named without a stage."""
    names = Names(app=app, stage=PIPELINE_SCOPE, region=LONGEST_REGION, account=PLACEHOLDER_ACCOUNT)
    return [
        names.boundary_policy,
        names.pipeline,
        names.pipeline_role,
        names.artifact_bucket,
        names.events_rule,
        names.events_role,
    ]


def reserved_stages() -> tuple[str, ...]:
    """Stage names that would give a stage the names (and tag) of the app's CI/CD: a stage's
    resources are `{app}-{stage}-...`, so a stage equal to the first word after `{app}-` of an
    app-level name takes that name's scope (`pipeline`: destroy would delete the CI/CD boundary)."""
    words = {name.removeprefix("app-").split("-")[0] for name in app_level_names("app")}
    return tuple(sorted(words | {PIPELINE_SCOPE}))


def stage_problem(app: str, stage: str) -> str | None:
    """Why `stage` cannot be a stage name of `app` (None when it can)."""
    if stage not in reserved_stages():
        return None
    taken = [n for n in app_level_names(app) if n.startswith(f"{app}-{stage}")]
    tag = f", tag {TAG_STAGE}={stage}" if stage == PIPELINE_SCOPE else ""
    return (
        f"{stage!r} is reserved: it names {app}'s CI/CD resources ({taken[0]}{tag}), "
        "which this stage's commands (destroy) would act on"
    )


def name_problems(app: str, stage: str, region: str | None) -> list[str]:
    """Why the names derived from app and stage would be rejected by AWS (empty when fine)."""
    names = Names(app=app, stage=stage, region=region or LONGEST_REGION, account=PLACEHOLDER_ACCOUNT)
    problems = []
    for kind, name in names.checked():
        why = check_name(kind, name)
        if why:
            problems.append(why)
    return problems

"""Config sections kept apart from config.py (size): the queue and alarm sections, the rules for the
function's environment variables, which are AWS Lambda's own (mlpipe.aws_rules), and what
pipeline.install may name."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlpipe.aws_rules import (
    LAMBDA_ENV_KEY_PATTERN,
    LAMBDA_ENV_MAX_BYTES,
    lambda_env_bad_keys,
    lambda_env_reserved_keys,
    lambda_env_size,
)
from mlpipe.config_errors import RuleError

# Variables mlpipe itself gives the handler (ops/deploy.py function_environment) and the room
# they take at most (queue URLs in the longest region): user variables must leave that free.
MLPIPE_ENV_KEYS = ("MLPIPE_ENDPOINT_NAME", "MLPIPE_FEATURE_COUNT", "MLPIPE_DLQ_URL", "MLPIPE_RESULTS_QUEUE_URL")
MLPIPE_ENV_RESERVE_BYTES = 512
DAY = 86_400
_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"


# pipeline.install items: name==version, or a location (a wheel, a directory, a URL), never a bare name.
_PINNED_OR_LOCATION = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+"
    r"|\S+\.whl(#sha256=[0-9a-f]{64})?|[./~]\S*|[a-z+]+://\S+)$"
)


def pinned_install(value: str | None) -> str | None:
    """pipeline.install: a bare or ranged name would let the index choose what the build runs."""
    if value is None:
        return None
    try:
        items = shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"cannot be split into requirements ({exc})") from None
    for item in items:
        if not _PINNED_OR_LOCATION.match(item):
            name = re.split(r"[<>=!~;\[ ]", item, maxsplit=1)[0] or item
            raise ValueError(
                f"{item!r} is not pinned: name an exact version ({name}==X.Y.Z), a wheel file or URL, "
                "or remove the key to install the mlpipe that runs bootstrap-pipeline"
            )
    return value or None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def environment_problem(variables: Mapping[str, str]) -> str | None:
    """Why Lambda (or mlpipe's handler) would reject these user variables, in one line; None if fine."""
    bad = lambda_env_bad_keys(variables)
    if bad:
        return f"variable name(s) {', '.join(map(repr, bad))} not allowed: Lambda requires {LAMBDA_ENV_KEY_PATTERN}"
    reserved = lambda_env_reserved_keys(variables)
    if reserved:
        return f"{', '.join(reserved)} reserved by Lambda (it sets them itself): rename or remove them"
    own = [k for k in variables if k in MLPIPE_ENV_KEYS]
    if own:
        return f"{', '.join(own)} set by mlpipe itself: choose another name"
    size, room = lambda_env_size(variables), LAMBDA_ENV_MAX_BYTES - MLPIPE_ENV_RESERVE_BYTES
    if size > room:
        return (
            f"the variables take {size} bytes; Lambda allows {LAMBDA_ENV_MAX_BYTES} in total and mlpipe's own "
            f"need up to {MLPIPE_ENV_RESERVE_BYTES}: keep them under {room} bytes (large values belong in S3 or SSM)"
        )
    return None


class AlarmConfig(_Section):
    """CloudWatch alarms on the DLQ, the function's errors and the trigger queue's oldest message."""

    enabled: bool = Field(True, description="Create the alarms (and their SNS topic)")
    dlq_threshold: int = Field(1, ge=1, description="DLQ depth that raises the DLQ alarm")
    errors_threshold: int = Field(1, ge=1, description="Function errors per period that raise the errors alarm")
    max_message_age_s: int = Field(
        900, ge=60, le=14 * 86_400, description="Age of the oldest trigger message that raises the age alarm (s)"
    )
    period_s: int = Field(60, ge=10, le=86_400, description="Alarm period (s): 10, 30 or a multiple of 60")
    notify: tuple[str, ...] = Field(
        (), max_length=20, examples=[["you@example.com"]], description="E-mail addresses subscribed to the alarm topic"
    )
    topic_arn: str | None = Field(
        None,
        pattern=_TOPIC_ARN,
        examples=["arn:aws:sns:eu-west-1:123456789012:alerts"],
        description="Existing SNS topic for the alarms' actions, instead of mlpipe's own",
    )

    @field_validator("period_s")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in (10, 30) and value % 60:
            raise ValueError(f"{value} is not a CloudWatch period: use 10, 30 or a multiple of 60")
        return value

    @field_validator("notify")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not re.fullmatch(_EMAIL, v)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} not an e-mail address")
        return value

    def warnings(self) -> list[str]:
        if self.enabled and self.period_s < 60:
            return [
                f"alarm.period_s {self.period_s} < 60: on AWS, SQS and Lambda publish one datapoint a minute, "
                "so the alarms would flap between OK and ALARM (the embedded AWS samples every few seconds)"
            ]
        return []

    @model_validator(mode="after")
    def _one_topic(self) -> AlarmConfig:
        if self.notify and self.topic_arn:
            raise RuleError(
                "alarm.notify subscribes addresses to mlpipe's own topic; with alarm.topic_arn, "
                "subscribe them to that topic yourself and drop alarm.notify",
                keys=("notify", "topic_arn"),
            )
        return self


class QueueConfig(_Section):
    """The trigger queue and its dead-letter queue."""

    visibility_timeout_s: int = Field(180, ge=0, le=43_200, description="Trigger queue visibility timeout")
    retention_s: int = Field(4 * DAY, ge=60, le=14 * DAY, description="Trigger queue message retention")
    dlq_retention_s: int = Field(14 * DAY, ge=60, le=14 * DAY, description="Dead-letter queue retention")
    max_receive_count: int = Field(5, ge=1, le=1000, description="Receives before SQS moves a message to the DLQ")
    sse: bool = Field(True, description="SQS-managed server-side encryption")
    sse_acknowledge_unencrypted: bool = Field(
        False, description="Required with sse: false, to accept messages stored unencrypted at rest"
    )
    results_queue: bool = Field(False, description="Also send every prediction to a results queue")

    @model_validator(mode="after")
    def _unencrypted_acknowledged(self) -> QueueConfig:
        if not self.sse and not self.sse_acknowledge_unencrypted:
            raise RuleError(
                "queue.sse: false stores every message unencrypted at rest; set queue.sse_acknowledge_unencrypted: "
                "true to accept that, or remove queue.sse (encrypted by default)",
                keys=("sse", "sse_acknowledge_unencrypted"),
            )
        return self

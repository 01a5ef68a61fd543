"""Resource policies mlpipe puts on its buckets and queues: refuse every request not made over TLS.

A Deny with `aws:SecureTransport = false` for every principal is AWS's recommended control
(S3 and SQS security best practices); it grants nothing, so it cannot widen access. The planners
that attach these (plan/s3.py, plan/sqs.py) compare the whole document for drift.
"""

from __future__ import annotations

from mlpipe.names import Names
from mlpipe.policies.statements import Policy, document, statement

INSECURE_TRANSPORT = {"Bool": {"aws:SecureTransport": "false"}}


def tls_only_bucket_policy(names: Names, bucket: str) -> Policy:
    bucket_arn = names.bucket_arn(bucket)
    return document(
        [
            statement(
                "DenyInsecureTransport",
                "s3:*",
                [bucket_arn, f"{bucket_arn}/*"],
                effect="Deny",
                principal="*",
                condition=INSECURE_TRANSPORT,
            )
        ]
    )


def tls_only_queue_policy(names: Names, queue: str) -> Policy:
    """The document for SQS's `Policy` attribute (SetQueueAttributes takes it as a JSON string)."""
    return document(
        [
            statement(
                "DenyInsecureTransport",
                "sqs:*",
                names.queue_arn(queue),
                effect="Deny",
                principal="*",
                condition=INSECURE_TRANSPORT,
            )
        ]
    )


def alarm_topic_policy(names: Names, topic: str) -> Policy:
    """The alarm topic's policy (it replaces SNS's default one, which lets any principal of the
    account do anything): CloudWatch may publish for this stage's alarms only, nothing over plain
    HTTP. Same-account users and roles keep what their own IAM policies grant."""
    topic_arn = names.topic_arn(topic)
    return document(
        [
            statement(
                "CloudWatchAlarmsPublish",
                "sns:Publish",
                topic_arn,
                principal={"Service": "cloudwatch.amazonaws.com"},
                condition={
                    # exact ARNs: `{prefix}-*` would also match the alarms of an app named `{prefix}`
                    "ArnEquals": {"aws:SourceArn": [names.alarm_arn(a) for a in names.alarms]},
                    "StringEquals": {"aws:SourceAccount": names.account},
                },
            ),
            statement(
                "DenyInsecureTransport",
                "sns:Publish",
                topic_arn,
                effect="Deny",
                principal="*",
                condition=INSECURE_TRANSPORT,
            ),
        ]
    )

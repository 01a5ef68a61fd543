"""IAM checks of S3, SageMaker, CloudWatch Logs and metrics, the CI/CD services, EventBridge, SNS, SSM
and the tagging API (see resources.py for the model and SQS/Lambda/IAM/STS)."""

from __future__ import annotations

from typing import Any

from mlpipe.local.iam.resources import Check, Req, one, pass_role, service, tagged

# -- S3 ----------------------------------------------------------------------------------------

# Operation -> action where the names differ; object operations are marked by "object:".
_S3_BUCKET = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "ListMultipartUploads": "ListBucketMultipartUploads",
}
_S3_OBJECT = {
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
}
_S3_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}


@service("s3")
def _s3(req: Req) -> list[Check] | None:
    op = req.operation
    if op in ("CopyObject", "UploadPartCopy") and not req.get("CopySource"):
        op = "PutObject" if op == "CopyObject" else "UploadPart"  # one route: the copy-source header tells
    context = {"s3:ResourceAccount": req.account, "aws:ResourceAccount": req.account}
    if op == "ListBuckets":
        return one("s3:ListAllMyBuckets", "*")
    bucket = req.get("Bucket")
    if not bucket:
        return None
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if "Key" not in req.params and op not in ("DeleteObjects", "CopyObject"):
        if op == "ListObjects" or op == "ListObjectsV2":
            context = {**context, "s3:prefix": str(req.get("Prefix", ""))}
        if op == "CreateBucket":
            return [Check("s3:CreateBucket", bucket_arn, context)]
        return [Check("s3:" + _S3_BUCKET.get(op, op), bucket_arn, context)]
    if op == "DeleteObjects":
        objects = (req.get("Delete") or {}).get("Objects") or [{"Key": "*"}]
        return [
            Check(
                "s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
                f"{bucket_arn}/{o['Key']}",
                context,
            )
            for o in objects
        ]
    action = "s3:" + _S3_OBJECT.get(op, op)
    if req.get("VersionId") and op in ("GetObject", "HeadObject", "DeleteObject"):
        action = "s3:" + _S3_VERSIONED.get(_S3_OBJECT.get(op, op), action)
    checks = [Check(action, f"{bucket_arn}/{req.get('Key')}", context)]
    if op == "CopyObject":
        source = str(req.get("CopySource", "")).lstrip("/").split("?", 1)[0]
        checks.append(Check("s3:GetObject", f"arn:aws:s3:::{source}", context))
    if op == "PutObject" and req.get("Tagging"):
        checks.append(Check("s3:PutObjectTagging", checks[0].resource, context))
    return checks


# -- SageMaker ---------------------------------------------------------------------------------

_SAGEMAKER_KINDS = (
    ("EndpointConfig", "EndpointConfigName", "endpoint-config"),
    ("Endpoint", "EndpointName", "endpoint"),
    ("Model", "ModelName", "model"),
    ("TrainingJob", "TrainingJobName", "training-job"),
)


@service("sagemaker")
def _sagemaker(req: Req) -> list[Check] | None:
    op = req.operation
    action = "sagemaker:" + op
    if (op.startswith("List") and op != "ListTags") or op == "Search":
        return one(action, "*")
    if op in ("AddTags", "DeleteTags", "ListTags"):
        return one(action, str(req.get("ResourceArn", "")))
    for kind, param, arn_type in _SAGEMAKER_KINDS:
        if op.endswith(kind) and param in req.params:
            # SageMaker lowercases names in ARNs; IAM compares against the lowercase ARN.
            resource = req.arn("sagemaker", f"{arn_type}/{str(req.get(param)).lower()}")
            checks = (
                tagged(action, resource, req.get("Tags"), "sagemaker:AddTags")
                if op.startswith("Create")
                else one(action, resource)
            )
            if op in ("CreateEndpoint", "UpdateEndpoint"):  # both resource types, per the reference
                config = str(req.get("EndpointConfigName", "")).lower()
                checks.append(Check(action, req.arn("sagemaker", f"endpoint-config/{config}")))
            if op == "CreateModel":
                checks += pass_role(req.get("ExecutionRoleArn"), "sagemaker.amazonaws.com")
            if op == "CreateTrainingJob":
                checks += pass_role(req.get("RoleArn"), "sagemaker.amazonaws.com")
            return checks
    return None


@service("sagemaker-runtime")
def _sagemaker_runtime(req: Req) -> list[Check] | None:
    name = str(req.get("EndpointName", "")).lower()
    action = "sagemaker:InvokeEndpointAsync" if req.operation == "InvokeEndpointAsync" else "sagemaker:InvokeEndpoint"
    return one(action, req.arn("sagemaker", f"endpoint/{name}")) if name else None


# -- CloudWatch Logs and metrics ---------------------------------------------------------------


def _log_group(req: Req, identifier: str) -> str:
    """Log-group actions are checked against the group's ARN as AWS reports it, with ":*"."""
    if identifier.startswith("arn:"):
        return identifier if identifier.endswith(":*") else identifier + ":*"
    return req.arn("logs", f"log-group:{identifier}:*")


@service("logs")
def _logs(req: Req) -> list[Check] | None:
    op = req.operation
    action = "logs:" + op
    if op in ("DescribeLogGroups", "DescribeQueries", "DescribeResourcePolicies"):
        return one(action, req.arn("logs", "log-group:*"))
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return one(action, str(req.get("resourceArn", "")))
    if op == "StartLiveTail":
        return [Check(action, _log_group(req, str(g))) for g in req.get("logGroupIdentifiers") or []]
    group = req.get("logGroupName") or req.get("logGroupIdentifier")
    if not group:
        return None
    if op in ("CreateLogStream", "PutLogEvents", "DeleteLogStream"):
        stream = req.arn("logs", f"log-group:{group}:log-stream:{req.get('logStreamName', '')}")
        return one(action, stream)
    resource = _log_group(req, str(group))
    if op == "CreateLogGroup":
        return tagged(action, resource, req.get("tags"), "logs:TagResource")
    return one(action, resource)


_METRIC_READS = {"GetMetricData", "GetMetricStatistics", "ListMetrics", "DescribeAlarmsForMetric"}


@service("cloudwatch")
def _cloudwatch(req: Req) -> list[Check] | None:
    op = req.operation
    action = "cloudwatch:" + op
    if op in _METRIC_READS:
        return one(action, "*")
    if op == "PutMetricData":
        return one(action, "*", **{"cloudwatch:namespace": str(req.get("Namespace", ""))})
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return one(action, str(req.get("ResourceARN", "")))
    if op == "PutMetricAlarm":
        return tagged(
            action, req.arn("cloudwatch", f"alarm:{req.get('AlarmName')}"), req.get("Tags"), "cloudwatch:TagResource"
        )
    names = req.get("AlarmNames") or ([req.get("AlarmName")] if req.get("AlarmName") else [])
    if op.endswith("Alarms") or op in (
        "SetAlarmState",
        "DescribeAlarmHistory",
        "EnableAlarmActions",
        "DisableAlarmActions",
    ):
        return [Check(action, req.arn("cloudwatch", f"alarm:{n}")) for n in names] or one(
            action, req.arn("cloudwatch", "alarm:*")
        )
    return None


# -- CodeBuild, CodePipeline, CodeCommit, CodeConnections --------------------------------------


def _project(req: Req, name_or_arn: str) -> str:
    name = name_or_arn.split(":project/")[-1].split(":")[0] if name_or_arn.startswith("arn:") else name_or_arn
    return req.arn("codebuild", f"project/{name}")


def _build_project(req: Req, build_id: str) -> str:
    """A build id is "<project>:<uuid>" (or the build's ARN): IAM checks the project."""
    if build_id.startswith("arn:"):
        build_id = build_id.split(":build/", 1)[-1]
    return _project(req, build_id.rsplit(":", 1)[0])


@service("codebuild")
def _codebuild(req: Req) -> list[Check] | None:
    op = req.operation
    action = "codebuild:" + op
    if op in ("ListProjects", "ListBuilds", "ListCuratedEnvironmentImages"):
        return one(action, "*")
    if op in ("BatchGetProjects",):
        return [Check(action, _project(req, str(n))) for n in req.get("names") or []]
    if op in ("BatchGetBuilds", "BatchDeleteBuilds"):
        return [Check(action, _build_project(req, str(i))) for i in req.get("ids") or []]
    if op in ("StopBuild", "RetryBuild"):
        return one(action, _build_project(req, str(req.get("id", ""))))
    name = req.get("name") or req.get("projectName")
    if not name:
        return None
    checks = one(action, _project(req, str(name)))
    if op in ("CreateProject", "UpdateProject"):
        checks += pass_role(req.get("serviceRole"), "codebuild.amazonaws.com")
    return checks


@service("codepipeline")
def _codepipeline(req: Req) -> list[Check] | None:
    op = req.operation
    action = "codepipeline:" + op
    if op in ("ListPipelines", "ListWebhooks", "ListActionTypes"):
        return one(action, "*")
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return one(action, str(req.get("resourceArn", "")))
    if op in ("CreatePipeline", "UpdatePipeline"):
        pipeline: dict[str, Any] = req.get("pipeline") or {}
        resource = req.arn("codepipeline", str(pipeline.get("name", "")))
        checks = tagged(action, resource, req.get("tags"), "codepipeline:TagResource")
        return checks + pass_role(pipeline.get("roleArn"), "codepipeline.amazonaws.com")
    name = req.get("name") or req.get("pipelineName")
    return one(action, req.arn("codepipeline", str(name))) if name else None


@service("codecommit")
def _codecommit(req: Req) -> list[Check] | None:
    op = req.operation
    action = "codecommit:" + op
    if op in ("ListRepositories", "ListApprovalRuleTemplates"):
        return one(action, "*")
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return one(action, str(req.get("resourceArn", "")))
    if op == "BatchGetRepositories":
        return [Check(action, req.arn("codecommit", str(n))) for n in req.get("repositoryNames") or []]
    name = req.get("repositoryName")
    if not name:
        return None
    resource = req.arn("codecommit", str(name))
    if op == "CreateRepository":
        return tagged(action, resource, req.get("tags"), "codecommit:TagResource")
    return one(action, resource)


@service("codestar-connections")
def _connections(req: Req) -> list[Check] | None:
    action = "codestar-connections:" + req.operation
    arn = req.get("ConnectionArn")
    return one(action, str(arn)) if arn else one(action, req.arn("codestar-connections", "connection/*"))


# -- EventBridge, SNS, SSM, tagging API --------------------------------------------------------


@service("events")
def _events(req: Req) -> list[Check] | None:
    op = req.operation
    action = "events:" + op
    if op in ("ListRules", "ListRuleNamesByTarget", "ListEventBuses", "PutEvents"):
        return one(action, "*")
    if op in ("TagResource", "UntagResource", "ListTagsForResource"):
        return one(action, str(req.get("ResourceARN", "")))
    rule = req.get("Name") or req.get("Rule")
    if not rule:
        return None
    bus = req.get("EventBusName")
    bus = bus.split("/")[-1] if isinstance(bus, str) else None
    resource = req.arn("events", f"rule/{bus}/{rule}" if bus and bus != "default" else f"rule/{rule}")
    if op == "PutRule":
        return tagged(action, resource, req.get("Tags"), "events:TagResource") + pass_role(
            req.get("RoleArn"), "events.amazonaws.com"
        )
    checks = one(action, resource)
    if op == "PutTargets":
        for target in req.get("Targets") or []:
            checks += pass_role(target.get("RoleArn"), "events.amazonaws.com")
    return checks


@service("sns")
def _sns(req: Req) -> list[Check] | None:
    op = req.operation
    action = "sns:" + op
    if op in ("ListTopics", "ListSubscriptions", "CreatePlatformApplication"):
        return one(action, "*")
    if op == "CreateTopic":
        return tagged(action, req.arn("sns", str(req.get("Name", ""))), req.get("Tags"), "sns:TagResource")
    topic = req.get("TopicArn") or req.get("ResourceArn")
    if not topic and req.get("SubscriptionArn"):
        topic = str(req.get("SubscriptionArn")).rsplit(":", 1)[0]  # a subscription lives under its topic
    return one(action, str(topic)) if topic else None


@service("ssm")
def _ssm(req: Req) -> list[Check] | None:
    op = req.operation
    action = "ssm:" + op
    names = req.get("Names") or ([req.get("Name")] if req.get("Name") else [])
    if op == "DescribeParameters" or not names:
        return one(action, "*") if op == "DescribeParameters" else None
    return [Check(action, req.arn("ssm", "parameter/" + str(n).lstrip("/"))) for n in names]


@service("resourcegroupstaggingapi")
def _tagging(req: Req) -> list[Check] | None:
    # The tagging API's own actions have no resource type; the per-service tag actions AWS also
    # checks for TagResources/UntagResources are not modelled (docs/CONTRACTS.md).
    return one("tag:" + req.operation, "*")

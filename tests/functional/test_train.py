"""`mlpipe train` against the embedded AWS: endpoint created, updated in place, rolled back; dry run
and bad inputs create nothing; foreign resources are refused; remote training jobs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber
from deploy_support import CallLog

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import AwsError, ForeignResourceError, MlpipeError, ModelError, NotDeployedError, UsageError
from mlpipe.names import Names
from mlpipe.ops import model_store
from mlpipe.ops.train import TrainRequest, rollback, train
from mlpipe.ops.train_endpoint import wait_endpoint
from mlpipe.reporter import ListReporter

BOSTON = TrainRequest(data=str(BOSTON_CSV), target="0", params=("num_round=40",))
FOREIGN_TAGS = [{"Key": "mlpipe:app", "Value": "other"}, {"Key": "mlpipe:stage", "Value": "dev"}]


def config(**overrides: Any) -> Config:
    return Config.model_validate({"app": "house", **overrides})


def names_of(clients: Clients) -> Names:
    return clients.names("house", "dev")


def tags(clients: Clients, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in clients.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]}


def test_train_creates_a_tagged_endpoint_serving_the_packaged_model(clients: Clients) -> None:
    result = train(config(), clients, ListReporter(), BOSTON)
    names = names_of(clients)
    sm, s3 = clients.client("sagemaker"), clients.client("s3")

    endpoint = sm.describe_endpoint(EndpointName="house-dev")
    assert (result.action, endpoint["EndpointStatus"]) == ("created", "InService")
    assert endpoint["EndpointConfigName"] == result.model_name == f"house-dev-{result.version}"
    assert tags(clients, endpoint["EndpointArn"]) == {"mlpipe:app": "house", "mlpipe:stage": "dev"}
    variant = sm.describe_endpoint_config(EndpointConfigName=result.model_name)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    container = sm.describe_model(ModelName=result.model_name)["PrimaryContainer"]
    assert container["Image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    assert container["ModelDataUrl"] == result.artifact_uri

    bucket = names.model_bucket
    archive = s3.get_object(Bucket=bucket, Key=model_store.artifact_key(result.version))["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4

    current = model_store.read_current(clients, names)
    assert current is not None
    assert current["feature_count"] == 13 and current["feature_names"][0] == "CRIM"
    assert current["artifact_uri"] == result.artifact_uri and current["version"] == result.version
    assert current["data_sha256"] == hashlib.sha256(BOSTON_CSV.read_bytes()).hexdigest()
    assert current["xgboost_version"].startswith("3.2.") and current["image_uri"] == container["Image"]
    assert current["metrics"] == result.metrics and set(result.metrics) == {"rmse", "mae", "r2"}


def test_execution_role_is_least_privilege(clients: Clients) -> None:
    train(config(), clients, ListReporter(), BOSTON)
    names = names_of(clients)
    iam = clients.client("iam")
    role = iam.get_role(RoleName=names.sagemaker_role)["Role"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == names.tags
    document = iam.get_role_policy(RoleName=names.sagemaker_role, PolicyName="mlpipe")["PolicyDocument"]
    statements = (json.loads(document) if isinstance(document, str) else document)["Statement"]
    bucket_arn = names.bucket_arn(names.model_bucket)
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in resources:  # only actions AWS defines without resources, the metric one narrowed by namespace
            assert statement["Action"] in ("ecr:GetAuthorizationToken", "cloudwatch:PutMetricData")
        elif str(statement["Action"]).startswith("s3:"):
            assert all(r.startswith(bucket_arn) for r in resources)


def test_training_again_updates_the_same_endpoint_in_place_and_rollback_returns(clients: Clients) -> None:
    cfg = config()
    first = train(cfg, clients, ListReporter(), BOSTON)
    arn = clients.client("sagemaker").describe_endpoint(EndpointName="house-dev")["EndpointArn"]
    reporter = ListReporter()
    second = train(cfg, clients, reporter, TrainRequest(data=str(BOSTON_CSV), target="0", seed=7))
    third = train(cfg, clients, ListReporter(), BOSTON)
    sm = clients.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="house-dev")

    assert (second.action, third.action) == ("updated", "updated")
    assert endpoint["EndpointArn"] == arn and endpoint["EndpointConfigName"] == third.model_name
    assert any("house-dev: Updating" in m for m in reporter.messages("step"))  # it went through Updating
    assert (second.previous_version, third.previous_version) == (first.version, second.version)
    configs = sorted(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"])
    models = sorted(m["ModelName"] for m in sm.list_models()["Models"])
    assert configs == models == sorted([second.model_name, third.model_name])  # the first one cleaned up
    assert third.removed == [f"endpoint-config {first.model_name}", f"model {first.model_name}"]

    back = rollback(cfg, clients, ListReporter())
    assert (back.action, back.version, back.endpoint_status) == ("rolled back", second.version, "InService")
    assert sm.describe_endpoint(EndpointName="house-dev")["EndpointConfigName"] == second.model_name
    current = model_store.read_current(clients, names_of(clients))
    assert current is not None and (current["version"], current["previous_version"]) == (second.version, third.version)


def test_no_wait_returns_while_the_update_is_in_progress(clients: Clients) -> None:
    train(config(), clients, ListReporter(), BOSTON)
    result = train(config(), clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", no_wait=True))
    assert result.endpoint_status == "Updating"
    assert result.removed == []  # nothing is cleaned up before the update is known to have worked


def test_realtime_endpoint_takes_instances_from_config(clients: Clients) -> None:
    cfg = config(endpoint={"type": "realtime", "instance_type": "ml.c5.large", "instance_count": 2})
    result = train(cfg, clients, ListReporter(), BOSTON)
    variant = clients.client("sagemaker").describe_endpoint_config(EndpointConfigName=result.model_name)
    assert {k: variant["ProductionVariants"][0][k] for k in ("InstanceType", "InitialInstanceCount")} == {
        "InstanceType": "ml.c5.large",
        "InitialInstanceCount": 2,
    }


def inventory(clients: Clients) -> dict[str, list[str]]:
    sm = clients.client("sagemaker")
    return {
        "buckets": [b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]],
        "roles": [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]],
        "models": [m["ModelName"] for m in sm.list_models()["Models"]],
        "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
    }


def test_dry_run_plans_everything_and_creates_nothing(clients: Clients) -> None:
    calls = CallLog().attach(clients)
    result = train(config(), clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", dry_run=True))
    assert calls.calls and calls.mutating == []  # read calls only
    assert result.plan is not None
    planned = {(c["action"], c["kind"]) for c in result.plan["changes"]}
    assert {("create", "s3-bucket"), ("create", "iam-role"), ("create", "sagemaker-endpoint")} <= planned
    assert inventory(clients) == {"buckets": [], "roles": [], "models": [], "endpoints": []}


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        (TrainRequest(data="missing.csv"), UsageError, "missing.csv: no such file"),
        (TrainRequest(data=str(BOSTON_CSV), target="price"), ModelError, "target column 'price' is not in the header"),
        (TrainRequest(data=str(BOSTON_CSV), target="0", params=("eta=2",)), UsageError, "eta=2: must be <= 1"),
        (TrainRequest(data=str(BOSTON_CSV), target="0", xgboost_version="3.1.1"), ModelError, "xgboost 3.1.1"),
    ],
)
def test_bad_inputs_fail_before_anything_is_created(
    clients: Clients, request_: TrainRequest, error: type[MlpipeError], message: str
) -> None:
    with pytest.raises(error, match=message):
        train(config(), clients, ListReporter(), request_)
    assert inventory(clients) == {"buckets": [], "roles": [], "models": [], "endpoints": []}


def test_an_endpoint_of_another_app_is_refused_untouched(clients: Clients) -> None:
    sm = clients.client("sagemaker")
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    sm.create_model(
        ModelName="theirs",
        PrimaryContainer={"Image": image},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/theirs",
        Tags=FOREIGN_TAGS,
    )
    sm.create_endpoint_config(
        EndpointConfigName="theirs",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "theirs",
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
            }
        ],
    )
    sm.create_endpoint(EndpointName="house-dev", EndpointConfigName="theirs", Tags=FOREIGN_TAGS)
    with pytest.raises(ForeignResourceError, match="SageMaker endpoint 'house-dev' exists but is not mlpipe's"):
        train(config(), clients, ListReporter(), BOSTON)
    assert sm.describe_endpoint(EndpointName="house-dev")["EndpointConfigName"] == "theirs"
    assert inventory(clients)["buckets"] == [] and inventory(clients)["models"] == ["theirs"]


def test_a_foreign_model_bucket_is_refused(clients: Clients) -> None:
    bucket = names_of(clients).model_bucket
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=bucket)
    # Untagged and holding someone's data (an untagged *empty* one is our own interrupted create).
    s3.put_object(Bucket=bucket, Key="theirs.csv", Body=b"x\n")
    with pytest.raises(ForeignResourceError, match=f"S3 bucket '{bucket}'"):
        train(config(), clients, ListReporter(), BOSTON)
    assert inventory(clients)["endpoints"] == []


def test_rollback_without_a_previous_version_says_so(clients: Clients) -> None:
    with pytest.raises(NotDeployedError, match="no model trained"):
        rollback(config(), clients, ListReporter())
    train(config(), clients, ListReporter(), BOSTON)
    with pytest.raises(NotDeployedError, match="no previous version"):
        rollback(config(), clients, ListReporter())


def test_a_failed_endpoint_reports_sagemakers_reason(clients: Clients) -> None:
    # The emulator never fails an endpoint: botocore's Stubber plays SageMaker's answer.
    sm = clients.client("sagemaker")
    names = names_of(clients)
    reason = "The primary container for production variant AllTraffic did not pass the ping health check."
    with Stubber(sm) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "house-dev",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/house-dev",
                "EndpointStatus": "Failed",
                "FailureReason": reason,
                "CreationTime": "2026-11-26T00:00:00Z",
                "LastModifiedTime": "2026-11-26T00:00:00Z",
            },
            {"EndpointName": "house-dev"},
        )
        with pytest.raises(AwsError, match="house-dev is Failed: The primary container") as err:
            wait_endpoint(clients, names, ListReporter(), sleep=lambda s: None, updating=True)
    assert err.value.hint is not None and "keeps serving the previous model" in err.value.hint


def test_remote_training_job_with_image_channels_hyperparameters_and_role(clients: Clients) -> None:
    cfg = config(training={"instance_type": "ml.m5.2xlarge", "instance_count": 2})
    reporter = ListReporter()
    result = train(cfg, clients, reporter, TrainRequest(data=str(BOSTON_CSV), target="0", remote=True, seed=5))
    names = names_of(clients)
    sm, s3 = clients.client("sagemaker"), clients.client("s3")
    job = sm.describe_training_job(TrainingJobName=result.training_job)

    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:3.2-0")
    assert job["RoleArn"] == names.role_arn(names.sagemaker_role)
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge" and job["ResourceConfig"]["InstanceCount"] == 2
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in job["InputDataConfig"]}
    assert channels["train"]["S3DataDistributionType"] == "ShardedByS3Key"  # 2 instances: one shard each
    assert channels["validation"]["S3DataDistributionType"] == "FullyReplicated"
    hyper = job["HyperParameters"]
    assert (hyper["objective"], hyper["seed"], hyper["max_depth"]) == ("reg:squarederror", "5", "5")

    bucket, prefix = channels["train"]["S3Uri"].removeprefix("s3://").split("/", 1)
    shards = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert len(shards) == 2
    first_row = s3.get_object(Bucket=bucket, Key=shards[0])["Body"].read().decode().splitlines()[0].split(",")
    assert len(first_row) == 14  # headerless: the label first, then the 13 features

    assert result.artifact_uri == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert result.artifact_uri.endswith(f"/{result.training_job}/output/model.tar.gz")
    art_bucket, art_key = result.artifact_uri.removeprefix("s3://").split("/", 1)
    assert s3.head_object(Bucket=art_bucket, Key=art_key)["ContentLength"] > 0  # the emulator really trained
    assert sm.describe_model(ModelName=result.model_name)["PrimaryContainer"]["ModelDataUrl"] == result.artifact_uri
    assert sm.describe_endpoint(EndpointName="house-dev")["EndpointStatus"] == "InService"
    assert result.metrics["validation:rmse"] > 0
    assert any(f"training job {result.training_job}: Completed" in m for m in reporter.messages("step"))


def test_remote_job_failure_shows_the_reason(clients: Clients, tmp_path: Any) -> None:
    # Hyperparameters valid one by one can still be refused together by the algorithm (the exact tree
    # method needs a depth): the job fails as it would on SageMaker, and its reason is shown.
    data = tmp_path / "cls.csv"
    cfg = config(model={"params": {"max_depth": 0, "tree_method": "exact"}})
    data.write_text("a,b,y\n" + "\n".join(f"{i},{i % 3},{(i % 5) * 1.5}" for i in range(30)))
    with pytest.raises(ModelError, match=r"training job house-dev-\S+ Failed: AlgorithmError"):
        train(cfg, clients, ListReporter(), TrainRequest(data=str(data), target="y", remote=True))
    with pytest.raises(botocore.exceptions.ClientError):
        clients.client("sagemaker").describe_endpoint(EndpointName="house-dev")


def test_emulated_update_endpoint_refuses_what_aws_refuses(clients: Clients) -> None:
    first = train(config(), clients, ListReporter(), BOSTON)
    sm = clients.client("sagemaker")
    with pytest.raises(botocore.exceptions.ClientError, match="Could not find endpoint configuration"):
        sm.update_endpoint(EndpointName="house-dev", EndpointConfigName="no-such-config")
    with pytest.raises(botocore.exceptions.ClientError, match="Could not find endpoint"):
        sm.update_endpoint(EndpointName="no-such-endpoint", EndpointConfigName=first.model_name)
    sm.update_endpoint(EndpointName="house-dev", EndpointConfigName=first.model_name)
    assert sm.describe_endpoint(EndpointName="house-dev")["EndpointStatus"] == "Updating"
    with pytest.raises(botocore.exceptions.ClientError, match="Cannot update in-progress endpoint"):
        sm.update_endpoint(EndpointName="house-dev", EndpointConfigName=first.model_name)
    # train waits for the update in progress before it changes the endpoint again
    second = train(config(), clients, ListReporter(), BOSTON)
    assert second.action == "updated" and second.endpoint_status == "InService"


def test_remote_dry_run_plans_the_job_and_creates_nothing(clients: Clients) -> None:
    request = TrainRequest(data=str(BOSTON_CSV), target="0", remote=True, dry_run=True)
    calls = CallLog().attach(clients)
    result = train(config(), clients, ListReporter(), request)
    assert calls.mutating == []
    assert result.plan is not None
    kinds = [(c["action"], c["kind"]) for c in result.plan["changes"]]
    assert ("create", "sagemaker-training-job") in kinds and ("create", "sagemaker-endpoint") in kinds
    assert kinds.count(("create", "s3-object")) == 2  # train and validation channels
    assert inventory(clients) == {"buckets": [], "roles": [], "models": [], "endpoints": []}
    assert clients.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []

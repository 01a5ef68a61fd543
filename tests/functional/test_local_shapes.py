"""Answers moto gets wrong in shape, as AWS gives them: Lambda's code download URL, endpoint-config ARNs."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from typing import Any

import boto3
from local_helpers import client, handler_zip, wait_for


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_get_function_code_location_downloads_the_package_from_this_server(endpoint_url: str) -> None:
    lam, iam = client(endpoint_url, "lambda"), client(endpoint_url, "iam")
    role = iam.create_role(RoleName="shape-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    package = handler_zip("def handler(event, context):\n    return 1\n")
    lam.create_function(
        FunctionName="shape-fn", Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": package}
    )
    location = lam.get_function(FunctionName="shape-fn")["Code"]["Location"]

    assert location.startswith(f"{endpoint_url}/_lambda-code/shape-fn/") and "X-Amz-Expires=600" in location
    status, body = _fetch(location)
    assert status == 200 and body == package
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == ["handler.py"]
    assert _fetch(location.replace("X-Amz-Signature=", "X-Amz-Signature=0"))[0] == 403
    assert _fetch(location.split("?", 1)[0])[0] == 401  # unsigned

    active = lambda: lam.get_function(FunctionName="shape-fn")["Configuration"]["State"] == "Active"  # noqa: E731
    wait_for(active, 30, "the function to be Active")
    lam.update_function_code(FunctionName="shape-fn", ZipFile=handler_zip("def handler(e, c):\n    return 2\n"))
    assert _fetch(location)[0] == 404  # that package is gone, as its snapshot is on AWS


def test_tagging_api_returns_endpoint_config_arns_as_strings(endpoint_url: str) -> None:
    sm, tagging = client(endpoint_url, "sagemaker"), client(endpoint_url, "resourcegroupstaggingapi")
    sm.create_model(
        ModelName="shape-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": "i"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="shape-config",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "shape-model", "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}
        ],
        Tags=[{"Key": "mlpipe:app", "Value": "shape"}],
    )
    found = tagging.get_resources(TagFilters=[{"Key": "mlpipe:app", "Values": ["shape"]}])["ResourceTagMappingList"]
    arn = sm.describe_endpoint_config(EndpointConfigName="shape-config")["EndpointConfigArn"]
    assert (
        [r["ResourceARN"] for r in found]
        == [arn]
        == ["arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/shape-config"]
    )


def test_get_caller_identity_names_the_caller(endpoint_url: str, embedded_server: Any) -> None:
    operator = client(endpoint_url, "sts").get_caller_identity()
    assert operator["Arn"] == "arn:aws:iam::123456789012:user/mlpipe-operator" and operator["UserId"].startswith("AIDA")
    role = embedded_server.credentials.issue("arn:aws:sts::123456789012:assumed-role/shape-role/build-1", session=True)
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=role.access_key_id,
        aws_secret_access_key=role.secret_access_key,
        aws_session_token=role.session_token,
    )
    iam = client(endpoint_url, "iam")  # the role may call sts:GetCallerIdentity without any policy, as on AWS
    iam.create_role(RoleName="shape-role", AssumeRolePolicyDocument="{}")
    answer = sts.get_caller_identity()
    assert answer["Arn"] == role.principal_arn and answer["UserId"].endswith(":build-1")
    assert answer["Account"] == "123456789012"

"""The embedded AWS validates requests against the service model as AWS does, whatever the client
checked: these clients switch botocore's own validation off, as an attacker's client would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local_helpers import client

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/build"


def unchecked(endpoint_url: str, service: str) -> Any:
    return client(endpoint_url, service, parameter_validation=False)


def refused(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
    return str(error["Message"])


def project(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "proj",
        "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "img", "computeType": "BUILD_GENERAL1_SMALL"},
        "serviceRole": ROLE,
        **overrides,
    }


def test_an_empty_codebuild_service_role_is_refused_on_create_and_update(endpoint_url: str) -> None:
    codebuild = unchecked(endpoint_url, "codebuild")
    message = refused(codebuild.create_project, **project(serviceRole=""))
    assert message == (
        "1 validation error detected: Value '' at 'serviceRole' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )
    missing = project()
    del missing["serviceRole"]
    assert "Value null at 'serviceRole' failed to satisfy constraint: Member must not be null" in refused(
        codebuild.create_project, **missing
    )
    codebuild.create_project(**project())
    refused(codebuild.update_project, name="proj", serviceRole="")
    assert codebuild.batch_get_projects(names=["proj"])["projects"][0]["serviceRole"] == ROLE


def test_a_pipeline_role_that_is_not_a_role_arn_is_refused(endpoint_url: str) -> None:
    pipeline = {
        "name": "pl",
        "roleArn": "",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
                        "outputArtifacts": [{"name": "out"}],
                    }
                ],
            }
        ],
    }
    message = refused(unchecked(endpoint_url, "codepipeline").create_pipeline, pipeline=pipeline)
    assert "Value '' at 'pipeline.roleArn' failed to satisfy constraint: Member must satisfy regular expression" in (
        message
    )


def test_several_problems_are_counted_and_names_are_coral_style(endpoint_url: str) -> None:
    sagemaker = unchecked(endpoint_url, "sagemaker")
    message = refused(sagemaker.create_endpoint, EndpointName="-bad name", EndpointConfigName="")
    assert message.startswith("2 validation errors detected: ")
    assert "Value '-bad name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular" in message
    assert "Value '' at 'endpointConfigName'" in message


def test_rest_json_numbers_and_lambda_ranges(endpoint_url: str) -> None:
    lam = unchecked(endpoint_url, "lambda")
    message = refused(
        lam.create_function,
        FunctionName="f",
        Runtime="python3.12",
        Role=ROLE,
        Handler="h.h",
        Code={"ZipFile": b"x"},
        Timeout=0,
    )
    assert "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1" in (
        message
    )


def test_valid_requests_still_pass(endpoint_url: str) -> None:
    logs = unchecked(endpoint_url, "logs")
    logs.create_log_group(logGroupName="/aws/lambda/ok")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/ok"]
    assert json.loads(json.dumps(groups[0], default=str))["logGroupName"] == "/aws/lambda/ok"

"""The AWS path: a user who sets AWS_PROFILE/region and drops --local gets real AWS clients
(standard retries, the profile's region and keys) and AWS's errors without the emulator's hints.

Deploy walked on such clients, nothing of the embedded AWS leaking into it, is
tests/functional/test_aws_path_replay.py (it learns the calls from the embedded AWS).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlpipe.aws.clients import Clients, Target, resolve_target

AWS_REGION = "eu-west-3"
USER_KEY = "AKIAUSERKEY000000001"


@pytest.fixture
def aws_clients(monkeypatch: pytest.MonkeyPatch) -> Clients:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)  # boto3 1.44 ignores AWS_REGION
    target = resolve_target(None, None, None, None)  # what a user without --local gets
    assert target == Target("aws", region=None, profile=None)
    return Clients(target)


def test_the_aws_target_uses_standard_retries_and_the_users_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = Path(os.environ["AWS_CONFIG_FILE"])
    config_file.write_text("[profile data-science]\nregion = ap-southeast-2\n")
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[data-science]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "data-science")
    clients = Clients(resolve_target(None, None, "data-science", None))
    sqs = clients.client("sqs")
    assert clients.region == "ap-southeast-2"
    assert sqs.meta.endpoint_url == "https://sqs.ap-southeast-2.amazonaws.com"
    retries = sqs.meta.config.retries
    attempts = retries.get("total_max_attempts", retries.get("max_attempts", 0))
    assert attempts > 3 and retries["mode"] != "legacy"  # not the emulator's two quick attempts
    assert sqs._request_signer._credentials.access_key == "AKIAPROFILE000000001"
    assert sqs._request_signer._credentials.secret_key == "s"  # the profile's, nothing of the emulator's


def test_an_error_on_aws_is_translated_without_local_hints(aws_clients: Clients) -> None:
    from mlpipe.aws.errors import translate

    sts = aws_clients.client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", "AccessDenied", "not allowed", 403)
        with pytest.raises(ClientError) as raised:
            sts.get_caller_identity()
    err = translate(raised.value, aws_clients.target)
    assert "access denied" in err.message and "iam-policy" in (err.hint or "")

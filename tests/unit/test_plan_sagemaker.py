"""plan/sagemaker.py's decisions, without a server: create / update / no-op / refuse-unowned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.names import Names
from mlpipe.plan.sagemaker import (
    JobSpec,
    Observed,
    ServingSpec,
    Versioned,
    cleanup_changes,
    endpoint_change,
    job_change,
    new_version,
    observed,
    serving_changes,
)

NAMES = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
OURS = {"mlpipe:app": "house", "mlpipe:stage": "dev"}
CONFIG = Config.model_validate({"app": "house"})
SPEC = ServingSpec("20260101-000000", "img:3.2-0", "s3://b/model.tar.gz", "arn:aws:iam::123456789012:role/r")


def endpoint(config: str = "house-dev-20250101-000000", status: str = "InService") -> dict[str, str]:
    return {"EndpointName": "house-dev", "EndpointStatus": status, "EndpointConfigName": config}


def test_no_endpoint_plans_model_config_and_a_new_endpoint() -> None:
    seen = observed(NAMES, None, None, set())
    changes = serving_changes(CONFIG, NAMES, seen, SPEC)
    assert [(c.action, c.kind) for c in changes] == [
        ("create", "sagemaker-model"),
        ("create", "sagemaker-endpoint-config"),
        ("create", "sagemaker-endpoint"),
    ]
    model = changes[0].calls[0]
    assert model.params["PrimaryContainer"] == {"Image": "img:3.2-0", "ModelDataUrl": "s3://b/model.tar.gz"}
    assert model.retry_on == ()  # an existing role: a refused AssumeRole is a real error
    assert {t["Key"]: t["Value"] for t in changes[2].calls[0].params["Tags"]} == OURS


def test_an_owned_endpoint_is_updated_in_place_and_a_new_role_is_retried() -> None:
    seen = observed(NAMES, endpoint(), OURS, {"20250101-000000"})
    spec = ServingSpec(SPEC.version, SPEC.image_uri, SPEC.model_data_url, SPEC.role_arn, role_is_new=True)
    changes = serving_changes(CONFIG, NAMES, seen, spec)
    update = changes[2]
    assert (update.action, update.calls[0].operation) == ("update", "update_endpoint")
    assert update.detail == "house-dev-20250101-000000 -> house-dev-20260101-000000"
    assert changes[0].calls[0].retry_on == ("ValidationException:assume",)


def test_rollback_is_an_update_with_its_note() -> None:
    change = endpoint_change(NAMES, observed(NAMES, endpoint(), OURS, set()), "house-dev-1", note=" (rollback)")
    assert (change.action, change.detail) == ("update", "house-dev-20250101-000000 -> house-dev-1 (rollback)")


@pytest.mark.parametrize("tags", [{}, {"mlpipe:app": "other", "mlpipe:stage": "dev"}])
def test_an_endpoint_that_is_not_ours_is_refused(tags: dict[str, str]) -> None:
    with pytest.raises(ForeignResourceError, match="SageMaker endpoint 'house-dev' exists but is not mlpipe's"):
        observed(NAMES, endpoint(), tags, set())


def test_cleanup_deletes_old_owned_versions_only_configs_first() -> None:
    found = [
        Versioned("endpoint-config", "house-dev-1", "1", OURS),
        Versioned("endpoint-config", "house-dev-2", "2", OURS),  # kept
        Versioned("endpoint-config", "house-dev-3", "3", {"mlpipe:app": "other", "mlpipe:stage": "dev"}),
        Versioned("model", "house-dev-1", "1", OURS),
    ]
    changes = cleanup_changes(NAMES, found, keep={"2"})
    assert [(c.action, c.kind, c.name) for c in changes] == [
        ("delete", "sagemaker-endpoint-config", "house-dev-1"),
        ("delete", "sagemaker-model", "house-dev-1"),
    ]
    assert [c.calls[0].params for c in changes] == [{"EndpointConfigName": "house-dev-1"}, {"ModelName": "house-dev-1"}]
    assert all(c.calls[0].ok_on == ("ValidationException:Could not find",) for c in changes)  # already gone is done


def test_cleanup_with_only_kept_versions_is_a_no_op() -> None:
    assert cleanup_changes(NAMES, [Versioned("model", "house-dev-2", "2", OURS)], keep={"2"}) == ()


def test_a_new_version_never_reuses_an_existing_one() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_version(Observed(), now) == "20260102-030405"
    assert new_version(Observed(versions={"20260102-030405", "20260102-030405-1"}), now) == "20260102-030405-2"


def test_training_job_runs_the_image_on_the_channels_with_the_role() -> None:
    spec = JobSpec("7", "img:3.2-0", "arn:role", {"num_round": "5"}, ({"ChannelName": "train"},))
    change = job_change(CONFIG, NAMES, spec)
    params = change.calls[0].params
    assert (change.action, change.name) == ("create", "house-dev-7")
    assert params["AlgorithmSpecification"]["TrainingImage"] == "img:3.2-0"
    assert params["OutputDataConfig"]["S3OutputPath"] == f"s3://{NAMES.model_bucket}/training/7/output"
    assert params["InputDataConfig"] == [{"ChannelName": "train"}]

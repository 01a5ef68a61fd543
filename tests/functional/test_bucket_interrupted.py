"""A bucket create interrupted before its tags were written is finished by the next run; any other
untagged bucket with our name is refused (S3 cannot tag at creation, so this window exists)."""

from __future__ import annotations

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.errors import ForeignResourceError
from mlpipe.plan.executor import execute
from mlpipe.plan.model import Plan
from mlpipe.plan.s3 import BucketSpec, bucket_tags, plan_bucket
from mlpipe.reporter import ListReporter


def test_an_untagged_empty_bucket_is_our_interrupted_create_and_gets_finished(clients: Clients) -> None:
    names = clients.names("house", "dev")
    clients.client("s3").create_bucket(Bucket=names.model_bucket)  # killed right after CreateBucket

    change = plan_bucket(BucketSpec(names.model_bucket), clients, names)
    assert change.action == "update" and "interrupted" in change.detail
    execute(Plan((change,)), clients, ListReporter())
    assert names.owns(bucket_tags(clients, names.model_bucket))
    s3 = clients.client("s3")
    assert s3.get_public_access_block(Bucket=names.model_bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert plan_bucket(BucketSpec(names.model_bucket), clients, names).action == "noop"


def test_an_untagged_bucket_holding_data_is_refused(clients: Clients) -> None:
    names = clients.names("house", "dev")
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=names.model_bucket)
    s3.put_object(Bucket=names.model_bucket, Key="someone-elses.csv", Body=b"a,b\n")

    with pytest.raises(ForeignResourceError, match="no mlpipe tags"):
        plan_bucket(BucketSpec(names.model_bucket), clients, names)
    assert bucket_tags(clients, names.model_bucket) == {}

"""A bucket create interrupted after CreateBucket is finished by the next run: CreateBucket carries
mlpipe's tags, so even a run killed right after it leaves a bucket that is recognisably ours. A
bucket without those tags, empty or not, is someone else's and is refused, never adopted."""

from __future__ import annotations

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.errors import ForeignResourceError
from mlpipe.plan.apply import apply_plan
from mlpipe.plan.model import Change, Plan
from mlpipe.plan.s3 import BucketSpec, bucket_tags, plan_bucket
from mlpipe.reporter import ListReporter


def test_a_run_killed_right_after_create_bucket_leaves_a_tagged_bucket_the_next_run_finishes(
    clients: Clients,
) -> None:
    names = clients.names("house", "dev")
    create = plan_bucket(BucketSpec(names.model_bucket), clients, names)
    assert create.action == "create" and create.calls[0].operation == "create_bucket"
    killed = Change(create.action, create.kind, create.name, steps=create.steps[:1])  # only CreateBucket ran
    apply_plan(Plan((killed,)), clients, ListReporter())
    assert names.owns(bucket_tags(clients, names.model_bucket))  # tagged by CreateBucket itself

    change = plan_bucket(BucketSpec(names.model_bucket), clients, names)
    assert change.action == "update"
    assert [c.operation for c in change.calls] == [c.operation for c in create.calls[1:]]
    apply_plan(Plan((change,)), clients, ListReporter())
    s3 = clients.client("s3")
    assert s3.get_public_access_block(Bucket=names.model_bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert plan_bucket(BucketSpec(names.model_bucket), clients, names).action == "noop"


@pytest.mark.parametrize("holding_data", [False, True])
def test_an_untagged_bucket_is_refused_empty_or_not(clients: Clients, holding_data: bool) -> None:
    names = clients.names("house", "dev")
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=names.model_bucket)  # created outside mlpipe, without its tags
    if holding_data:
        s3.put_object(Bucket=names.model_bucket, Key="someone-elses.csv", Body=b"a,b\n")

    with pytest.raises(ForeignResourceError, match="no mlpipe tags"):
        plan_bucket(BucketSpec(names.model_bucket), clients, names)
    assert bucket_tags(clients, names.model_bucket) == {}
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=names.model_bucket)

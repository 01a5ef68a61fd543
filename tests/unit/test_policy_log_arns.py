"""CloudWatch Logs checks every log-group action except tagging against the group's ARN with a
trailing `:*` (CloudWatch Logs' access-control overview); a bare group ARN grants only TagResource,
UntagResource and ListTagsForResource. A statement that gives other actions on a bare ARN alone is a
grant that does nothing on AWS (it once kept `train --remote` from creating the TrainingJobs group)."""

from __future__ import annotations

import re

import pytest
from policy_universe import app_policies, config

from mlpipe.policies.statements import as_list

TAGGING = {"logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"}
BARE_GROUP = re.compile(r":log-group:[^:*]+$")


@pytest.mark.parametrize("stages", [("dev",), ("dev", "prod")])
def test_every_bare_log_group_arn_has_its_star_form_where_group_actions_need_it(stages: tuple[str, ...]) -> None:
    dead = []
    for label, policy in app_policies(config("proj", stages)).items():
        for statement in policy["Statement"]:
            actions = {a for a in as_list(statement["Action"]) if a.startswith("logs:")} - TAGGING
            resources = as_list(statement["Resource"])
            bare = [r for r in resources if BARE_GROUP.search(r) and f"{r}:*" not in resources]
            if actions and bare:
                dead.append(f"{label} {statement.get('Sid')}: {sorted(actions)} on {bare}")
    assert dead == []

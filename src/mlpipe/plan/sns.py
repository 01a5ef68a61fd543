"""Planner for the SNS topic the alarms notify, and its e-mail subscriptions (`alarm.notify`).

The topic has a policy that lets CloudWatch publish for this stage's alarms only, over TLS. It is
not encrypted: CloudWatch cannot publish to a topic encrypted with SNS's AWS managed key
(alias/aws/sns), and a customer managed key costs money and a key policy; alarm messages hold no
data beyond names and numbers. Subscriptions are only added: an address removed from
`alarm.notify` unsubscribes through the link in its mails (sns:Unsubscribe cannot be scoped).
With `alarm.topic_arn` (or alarms off) mlpipe's own topic is deleted if it exists.
`observe` does every read and returns a plain snapshot; `diff` and `diff_deletion` decide from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.names import Names
from mlpipe.plan.common import normalized, require_owned, tag_dict, tag_list
from mlpipe.plan.model import Call, Change
from mlpipe.plan.reads import read
from mlpipe.policies.resource_policies import alarm_topic_policy

MISSING = ("NotFound", "NotFoundException", "ResourceNotFound")


def own_topic(config: Config) -> bool:
    """Whether mlpipe keeps a topic of its own for the alarms (otherwise it deletes it, if any)."""
    return config.alarm.enabled and not config.alarm.topic_arn


def alarm_topic_arn(config: Config, names: Names) -> str:
    """Where the alarms' actions go: the configured topic, or mlpipe's own."""
    return config.alarm.topic_arn or names.topic_arn(names.alarm_topic)


def _attributes(clients: Clients, arn: str) -> dict[str, str] | None:
    sns = clients.client("sns")
    response = read(clients, lambda: sns.get_topic_attributes(TopicArn=arn), MISSING)
    return None if response is None else dict(response.get("Attributes") or {})


def subscribed(clients: Clients, arn: str) -> list[dict[str, Any]]:
    sns = clients.client("sns")
    out: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs = {"TopicArn": arn, **({"NextToken": token} if token else {})}
        page = read(clients, lambda kw=kwargs: sns.list_subscriptions_by_topic(**kw), MISSING) or {}
        out += page.get("Subscriptions", [])
        token = page.get("NextToken")
        if not token:
            return out


@dataclass(frozen=True)
class Topic:
    """What SNS reports about mlpipe's alarm topic: attributes, tags, e-mail subscriptions (if read)."""

    attributes: Mapping[str, str]
    tags: Mapping[str, str]
    emails: frozenset[str] = frozenset()


def observe(clients: Clients, names: Names, *, subscriptions: bool = True) -> Topic | None:
    arn = names.topic_arn(names.alarm_topic)
    attributes = _attributes(clients, arn)
    if attributes is None:
        return None
    sns = clients.client("sns")
    tags = read(clients, lambda: sns.list_tags_for_resource(ResourceArn=arn), MISSING) or {}
    emails = (
        {s.get("Endpoint") for s in subscribed(clients, arn) if s.get("Protocol") == "email"}
        if subscriptions
        else set()
    )
    return Topic(attributes, tag_dict(tags.get("Tags")), frozenset(str(e) for e in emails))


def diff(config: Config, observed: Topic | None, names: Names) -> list[Change]:
    """The topic's change, then one per address to subscribe."""
    if not own_topic(config):
        return [diff_deletion(observed, names)]
    arn = names.topic_arn(names.alarm_topic)
    policy = json.dumps(alarm_topic_policy(names, names.alarm_topic))
    subscribe = [
        Call("sns", "subscribe", {"TopicArn": arn, "Protocol": "email", "Endpoint": e}) for e in config.alarm.notify
    ]
    if observed is None:
        create = Call(
            "sns",
            "create_topic",
            {"Name": names.alarm_topic, "Attributes": {"Policy": policy}, "Tags": tag_list(names.tags)},
        )
        topic = Change("create", "sns-topic", names.alarm_topic, "alarm notifications", (create,))
        return [topic, *(Change("create", "sns-subscription", c.params["Endpoint"], "e-mail", (c,)) for c in subscribe)]
    require_owned(names, "SNS topic", names.alarm_topic, observed.tags)
    if normalized(observed.attributes.get("Policy")) == normalized(policy):
        topic = Change("noop", "sns-topic", names.alarm_topic)
    else:
        fix = Call(
            "sns", "set_topic_attributes", {"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": policy}
        )
        topic = Change("update", "sns-topic", names.alarm_topic, "Policy changed", (fix,))
    changes = [topic]
    for call in subscribe:
        email = call.params["Endpoint"]
        if email in observed.emails:
            changes.append(Change("noop", "sns-subscription", email))
        else:
            changes.append(Change("create", "sns-subscription", email, "e-mail", (call,)))
    return changes


def plan_topic(config: Config, clients: Clients, names: Names) -> list[Change]:
    return diff(config, observe(clients, names, subscriptions=own_topic(config)), names)


def diff_deletion(observed: Topic | None, names: Names) -> Change:
    if observed is None:
        return Change("noop", "sns-topic", names.alarm_topic, "absent")
    require_owned(names, "SNS topic", names.alarm_topic, observed.tags)
    delete = Call("sns", "delete_topic", {"TopicArn": names.topic_arn(names.alarm_topic)}, ok_on=MISSING)
    return Change("delete", "sns-topic", names.alarm_topic, "and its subscriptions", (delete,))


def plan_topic_deletion(clients: Clients, names: Names) -> Change:
    return diff_deletion(observe(clients, names, subscriptions=False), names)

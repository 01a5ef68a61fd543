"""AWS's own validation rules, shared by mlpipe's config and the embedded AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipe.aws_rules import bucket_name_problem, lambda_env_size
from mlpipe.config import load_config
from mlpipe.errors import ConfigError
from mlpipe.names import name_problems


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("xn--shop-models", "'xn--'"),
        ("sthree-bucket", "'sthree-'"),
        ("amzn-s3-demo-bucket", "'amzn-s3-demo-'"),
        ("shop-s3alias", "'-s3alias'"),
        ("shop--ol-s3", "'--ol-s3'"),
        ("shop.mrap", "'.mrap'"),
        ("shop--x-s3", "'--x-s3'"),
        ("192.168.5.4", "IP address"),
        ("a..b", "adjacent periods"),
        ("ab", "2 characters"),
        ("a" * 64, "64 characters"),
        ("Shop", "a-z"),
        ("-shop", "a-z"),
        ("shop_models", "a-z"),
    ],
)
def test_bucket_names_s3_rejects(name: str, fragment: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("name", ["shop-dev-models", "a.b.c", "abc", "a" * 63, "192.168.5", "xn-shop"])
def test_bucket_names_s3_accepts(name: str) -> None:
    assert bucket_name_problem(name) is None


def test_an_app_named_like_a_reserved_prefix_fails_at_config_load() -> None:
    assert any("'xn--'" in p for p in name_problems("xn--shop", "dev", "eu-west-1"))


def test_lambda_counts_the_variables_as_compact_json() -> None:
    assert lambda_env_size({"AB": "cd"}) == len('{"AB":"cd"}')


@pytest.mark.parametrize(
    ("yaml_env", "fragment"),
    [
        ("AWS_REGION: eu-west-1", "AWS_REGION reserved by Lambda"),
        ("my-var: x", "'my-var' not allowed: Lambda requires [a-zA-Z]([a-zA-Z0-9_])+"),
        ("A: x", "'A' not allowed"),
        ("_HANDLER: x", "'_HANDLER' not allowed"),
        ("MLPIPE_DLQ_URL: x", "MLPIPE_DLQ_URL set by mlpipe itself"),
        ("BIG: " + "x" * 3600, "bytes; Lambda allows 4096 in total"),
    ],
)
def test_function_environment_is_checked_first_with_one_clear_line(
    tmp_path: Path, yaml_env: str, fragment: str
) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text(f"app: shop\nfunction:\n  environment:\n    {yaml_env}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}:3: function.environment: ") and "\n" not in message
    assert fragment in message


@pytest.mark.parametrize(
    ("alarm", "fragment"),
    [
        ("period_s: 45", "45 is not a CloudWatch period"),
        ("notify: [ops]", "'ops' not an e-mail address"),
        ("topic_arn: arn:aws:sqs:eu-west-1:123456789012:q", "alarm.topic_arn"),
        (
            "notify: [a@example.com]\n  topic_arn: arn:aws:sns:eu-west-1:123456789012:ops",
            "subscribe them to that topic yourself",
        ),
    ],
)
def test_alarm_settings_are_checked(tmp_path: Path, alarm: str, fragment: str) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text(f"app: shop\nalarm:\n  {alarm}\n")
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        load_config(path, env={})


def test_good_alarm_and_environment_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text(
        "app: shop\nfunction:\n  environment:\n    LOG_LEVEL: debug\n"
        "alarm:\n  period_s: 10\n  notify: [a@example.com]\n"
    )
    config = load_config(path, env={}).config
    assert config.alarm.period_s == 10 and config.alarm.notify == ("a@example.com",)
    assert config.function.environment == {"LOG_LEVEL": "debug"}

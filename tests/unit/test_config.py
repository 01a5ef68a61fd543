"""Config loading: the scaffold's defaults, precedence, cross-field rules; the Lambda policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipe.config import Config, load_config
from mlpipe.errors import ConfigError, UsageError
from mlpipe.names import Names
from mlpipe.ops.scaffold import app_name_for, render_config, scaffold
from mlpipe.policies.lambda_role import lambda_policy


def test_scaffold_states_exactly_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text(render_config("shop"))
    loaded = load_config(path, env={}).config
    assert loaded == Config(app="shop")
    assert set(yaml.safe_load(path.read_text())) == set(Config.model_fields) - {"region", "profile", "endpoint_url"}


def test_scaffold_documents_every_key(tmp_path: Path) -> None:
    text = render_config("shop")
    for section, model in Config.model_fields.items():
        assert f"{section}:" in text
        sub_fields = getattr(model.annotation, "model_fields", {})
        for key in sub_fields:
            assert f"{key}:" in text, f"{section}.{key} is missing from templates/mlpipe.yaml"


def test_safe_defaults() -> None:
    c = Config(app="shop")
    assert (c.queue.dlq_retention_s, c.queue.max_receive_count, c.queue.sse) == (14 * 86400, 5, True)
    assert (c.function.runtime, c.function.batch_size, c.function.log_retention_days) == ("python3.12", 10, 30)
    assert c.queue.visibility_timeout_s >= 6 * c.function.timeout_s


def test_precedence_option_over_env_over_file(tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text("app: shop\nstage: filestage\nfunction:\n  timeout_s: 20\n  memory_mb: 512\n")
    env = {"MLPIPE_STAGE": "envstage", "MLPIPE_FUNCTION__TIMEOUT_S": "25"}
    loaded = load_config(path, overrides={"stage": "optstage"}, env=env)
    assert loaded.config.stage == "optstage"
    assert loaded.config.function.timeout_s == 25
    assert loaded.config.function.memory_mb == 512
    assert loaded.sources["stage"] == "option --stage"
    assert loaded.sources["function.timeout_s"] == "env MLPIPE_FUNCTION__TIMEOUT_S"
    assert loaded.sources["function.memory_mb"] == f"{path}:5"


def test_visibility_between_timeout_and_six_times_is_a_warning_not_an_error() -> None:
    c = Config(app="shop", queue={"visibility_timeout_s": 60}, function={"timeout_s": 30})  # type: ignore[arg-type]
    assert any("6 x function.timeout_s" in w for w in c.warnings())


def test_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text("app: shop\nfunction:\n  memory_mb: 64\n")
    with pytest.raises(ConfigError, match=r"mlpipe.yaml:3: function.memory_mb: 64 is out of range: must be >= 128"):
        load_config(path, env={})


def test_init_writes_a_loadable_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = scaffold(tmp_path / "mlpipe.yaml", app="shop")
    assert tmp_path / "mlpipe.yaml" in result.written
    assert load_config(tmp_path / "mlpipe.yaml", env={}).config.app == "shop"
    before = (tmp_path / "mlpipe.yaml").read_text()
    with pytest.raises(UsageError, match="will not overwrite"):
        scaffold(tmp_path / "mlpipe.yaml", app="other")
    assert (tmp_path / "mlpipe.yaml").read_text() == before
    scaffold(tmp_path / "mlpipe.yaml", app="other", force=True)
    assert load_config(tmp_path / "mlpipe.yaml", env={}).config.app == "other"


def test_app_name_from_directory(tmp_path: Path) -> None:
    assert app_name_for(tmp_path / "My_Project 2") == "my-project-2"
    assert app_name_for(tmp_path / "2024") == "my-app"


def test_lambda_policy_is_least_privilege() -> None:
    names = Names(app="shop", stage="dev", region="eu-west-1", account="123456789012")
    policy = lambda_policy(names, results_queue=False)
    grants = {action: stmt["Resource"] for stmt in policy["Statement"] for action in stmt["Action"]}
    assert set(grants) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "sagemaker:InvokeEndpoint",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert grants["sqs:SendMessage"] == ["arn:aws:sqs:eu-west-1:123456789012:shop-dev-dlq"]
    assert grants["sagemaker:InvokeEndpoint"] == ["arn:aws:sagemaker:eu-west-1:123456789012:endpoint/shop-dev"]
    log_group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/shop-dev-predict"
    assert grants["logs:PutLogEvents"] == [log_group, f"{log_group}:*"]
    assert all(r != "*" for resources in grants.values() for r in resources)
    with_results = lambda_policy(names, results_queue=True)
    send = next(s for s in with_results["Statement"] if "sqs:SendMessage" in s["Action"])
    assert send["Resource"][-1].endswith(":shop-dev-results")


@pytest.mark.parametrize("results_queue", [False, True])
def test_lambda_policy_passes_parliament(results_queue: bool) -> None:
    import json

    from parliament import analyze_policy_string

    names = Names(app="shop", stage="dev", region="eu-west-1", account="123456789012")
    findings = analyze_policy_string(json.dumps(lambda_policy(names, results_queue))).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_visibility_must_cover_the_timeout_plus_the_batching_window(tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text(
        "app: house\nfunction:\n  batch_size: 100\n  batching_window_s: 300\n  timeout_s: 30\nqueue:\n"
        "  visibility_timeout_s: 180\n"
    )
    with pytest.raises(ConfigError, match=r"batching_window_s \(300\).*recommended: 480"):
        load_config(path, env={})
    path.write_text(path.read_text().replace("180", "400"))
    loaded = load_config(path, env={})
    assert any("480" in w for w in loaded.config.warnings())


def test_the_scaffolds_ranges_are_the_models() -> None:
    """Every 'low - high' in the scaffold's comments is the bound the config model validates, e.g.
    function.timeout_s says 5 - 900 (it said 1 - 900 while validation required >= 5)."""
    import re

    text = render_config("shop")
    assert "{range}" not in text and "{choices}" not in text
    section, checked = None, 0
    for line in text.splitlines():
        match = re.match(r"^( *)(?:# )?([a-z_]+):.*#.*?(\d[\d.]*) - (\d[\d.]*)", line)
        if not re.match(r"^\s", line) and ":" in line:
            section = line.split(":")[0]
        if not match:
            continue
        fields = Config.model_fields
        if match.group(1):
            fields = fields[str(section)].annotation.model_fields  # type: ignore[union-attr]
        bounds = {
            n: getattr(m, n) for m in fields[match.group(2)].metadata for n in ("ge", "gt", "le", "lt") if hasattr(m, n)
        }
        low, high = bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt"))
        assert (match.group(3), match.group(4)) == (str(low), str(high)), line
        checked += 1
    assert checked >= 15
    assert "  timeout_s: 30                  # 5 - 900" in text
    assert "# python3.12 or python3.13" in text


def test_model_params_are_checked_by_the_chosen_frameworks_rules(tmp_path: Path) -> None:
    """At load (exit 3, the line), by the rules `train` applies: XGBoost's for xgboost, and another
    framework's own for it (model.framework is the seam; XGBoost's rules must not judge LightGBM)."""
    from types import SimpleNamespace

    from mlpipe.model import framework as frameworks

    path = tmp_path / "mlpipe.yaml"
    path.write_text("app: shop\nmodel:\n  params:\n    eta: 0.3\n    max_depth: -5\n")
    with pytest.raises(ConfigError, match=r"/mlpipe.yaml:5: model.params max_depth=-5: must be >= 0$"):
        load_config(path, env={})
    seen: list[dict[str, object]] = []
    plain = SimpleNamespace(name="plain", title="Plain", settings=lambda _o, params, *_: seen.append(dict(params)))
    frameworks.register(plain)  # type: ignore[arg-type]
    try:
        path.write_text("app: shop\nmodel:\n  framework: plain\n  params: {num_leaves: 31, max_depth: -5}\n")
        assert load_config(path, env={}).config.model.params == {"num_leaves": 31, "max_depth": -5}
    finally:
        frameworks.unregister("plain")
    assert seen == [{"num_leaves": 31}, {"max_depth": -5}]

"""Stage names that are mlpipe's own, and `init --stage`. A stage's resources are `{app}-{stage}-...`;
a stage named like the first word of an app-level (CI/CD) name would take that name's scope: the
review's `--stage pipeline destroy --yes` deleted the CI/CD's permissions boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipe.config import Config, load_config
from mlpipe.errors import ConfigError
from mlpipe.names import PIPELINE_SCOPE, Names, app_level_names, reserved_stages
from mlpipe.ops.scaffold import scaffold


def _names(stage: str) -> Names:
    return Names(app="shop", stage=stage, region="eu-west-1", account="123456789012")


def test_every_app_level_name_reserves_its_first_word() -> None:
    """Found from names.py itself: a name that is the same for two stages belongs to the app, and
    its first word after `shop-` must not be a stage (a new app-level name is covered unasked)."""
    one, other = _names("aaa"), _names("bbb")
    shared = [
        value
        for attr in dir(Names)
        if isinstance(getattr(Names, attr), property)
        and isinstance(value := getattr(one, attr), str)
        and value == getattr(other, attr)
    ]
    words = {v.removeprefix("shop-").split("-")[0] for v in shared if v.startswith("shop-")}
    assert words == {"pipeline", "events"}
    assert words | {PIPELINE_SCOPE} <= set(reserved_stages())
    assert {n.removeprefix("shop-").split("-")[0] for n in app_level_names("shop")} == words


def test_the_pipeline_stage_would_be_the_cicd_scope() -> None:
    """Why `pipeline` is refused: its boundary and tags are the CI/CD's."""
    stage, cicd = _names("pipeline"), _names(PIPELINE_SCOPE)
    assert (stage.boundary_policy, stage.tags) == (cicd.boundary_policy, cicd.tags)


@pytest.mark.parametrize("stage", reserved_stages())
def test_a_reserved_stage_is_refused_from_file_env_option_and_pipeline_stages(stage: str, tmp_path: Path) -> None:
    path = tmp_path / "mlpipe.yaml"
    path.write_text("app: shop\n")
    with pytest.raises(ConfigError, match=rf"^option --stage: stage: '{stage}' is reserved: it names shop's CI/CD"):
        load_config(path, overrides={"stage": stage}, env={})
    with pytest.raises(ConfigError, match=rf"^env MLPIPE_STAGE: stage: '{stage}' is reserved"):
        load_config(path, env={"MLPIPE_STAGE": stage})
    path.write_text(f"app: shop\npipeline:\n  stages: [dev, {stage}]\n")
    with pytest.raises(ConfigError, match=rf"mlpipe.yaml:3: pipeline.stages: '{stage}' is reserved"):
        load_config(path, env={})
    assert Config(app="shop", stage=f"{stage}2").stage == f"{stage}2"  # only the exact word


def test_init_writes_the_stage_option(tmp_path: Path) -> None:
    result = scaffold(tmp_path / "mlpipe.yaml", app="shop", stage="prod")
    text = (tmp_path / "mlpipe.yaml").read_text()
    assert result.stage == "prod" and result.to_dict()["stage"] == "prod"
    assert "\nstage: prod                      # lowercase letters" in text
    assert load_config(tmp_path / "mlpipe.yaml", env={}).config.stage == "prod"


def test_init_refuses_a_reserved_stage_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^option --stage: stage: 'pipeline' is reserved"):
        scaffold(tmp_path / "mlpipe.yaml", app="shop", stage="pipeline")
    assert list(tmp_path.iterdir()) == []

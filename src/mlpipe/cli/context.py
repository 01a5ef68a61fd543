"""Global options, shared by every command through typer's context object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlpipe.aws.clients import Clients
    from mlpipe.config import LoadedConfig
    from mlpipe.reporter import Reporter


@dataclass
class GlobalOptions:
    config_path: Path
    stage: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    output: str = "text"
    debug: bool = False

    @property
    def json(self) -> bool:
        return self.output == "json"

    def overrides(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "profile": self.profile,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            # --local only: an endpoint URL means local too, but `resolve_target` alone says so.
            "target": "local" if self.local else None,
        }

    def load(self) -> LoadedConfig:
        from mlpipe.config import load_config

        return load_config(self.config_path, overrides=self.overrides())

    def clients(self, loaded: LoadedConfig | None = None) -> Clients:
        """Clients for the target: from the config when there is one, else from the options alone."""
        from mlpipe.aws.clients import Clients, resolve_target
        from mlpipe.cli.embedded import RecordedEmbeddedAws

        embedded = RecordedEmbeddedAws()
        if loaded is not None:
            c = loaded.config
            source = loaded.sources.get("target")
            target = resolve_target(
                c.target, c.region, c.profile, c.endpoint_url, kind_source=source, embedded=embedded
            )
        else:
            kind = "local" if self.local else None
            target = resolve_target(kind, self.region, self.profile, self.endpoint_url, embedded=embedded)
        return Clients(target)

    def reporter(self) -> Reporter:
        from mlpipe.cli.render import RichReporter

        return RichReporter(quiet=self.json)


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):  # a command invoked without the root callback (tests)
        obj = GlobalOptions(config_path=Path("mlpipe.yaml"))
        ctx.find_root().obj = obj
    return obj

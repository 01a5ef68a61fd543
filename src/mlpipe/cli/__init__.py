"""The thin typer layer: parse options, load config, call one use case, render its result."""

"""Use cases: (config, clients, reporter) -> result dataclass. They never print."""

"""The config: YAML files validated once into pydantic models; mistakes fail fast with file,
field and fix.

models (the sections, secrets as ${ENV} references) / loader (includes, merge, the
built-in lists) / yaml_read (YAML text to data, keys given twice) / parse_cache (a big file's
long sections read from YAML once) / positions (each field's line) / locate (which file, and
where the shipped data lives) / checks (cross-references between sections) / messages
(pydantic errors in words, did you mean).
Import the public names from here: `from wirewatch.transforms.config import Config`.
"""

from wirewatch.transforms.config.checks import cross_check
from wirewatch.transforms.config.loader import load_config
from wirewatch.transforms.config.locate import Found, find_config
from wirewatch.transforms.config.models import (
    Config,
    ConfigFragment,
    ConsoleSink,
    Duration,
    EnvStr,
    FeedConfig,
    FetchSettings,
    GroupField,
    JsonlSink,
    QuietHours,
    RouteConfig,
    Secret,
    Silence,
    Sink,
    SlackSink,
    WebhookSink,
)
from wirewatch.transforms.errors import ConfigError, Problem

__all__ = [
    "Config",
    "ConfigError",
    "ConfigFragment",
    "ConsoleSink",
    "Duration",
    "EnvStr",
    "FeedConfig",
    "FetchSettings",
    "Found",
    "GroupField",
    "JsonlSink",
    "Problem",
    "QuietHours",
    "RouteConfig",
    "Secret",
    "Silence",
    "Sink",
    "SlackSink",
    "WebhookSink",
    "cross_check",
    "find_config",
    "load_config",
]

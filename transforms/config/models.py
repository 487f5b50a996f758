"""The config's pydantic models: what each section may hold, validated once at load.

Secrets are accepted only as `${ENV}` references (`Secret`, a SecretStr, never printed) and
plain strings may use `${ENV:-default}` (`EnvStr`). A URL that can carry a credential (Slack's
webhook, a webhook sink's) is a `SecretUrl`: never printed, taken out of every log line and
message (transforms/secrets.py), and checked here to be an absolute http(s) URL with a host.
Unknown keys are errors everywhere (`_Strict`): a typo must not silently disable a rule. The config travels to workers as plain
data (`Config.model_dump()` round-trips), so nothing here may hold a client or a compiled object.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from wirewatch.transforms.errors import redact_url
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.secrets import SecretUrl, SecretValue
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.tagging.schema import EntityConfig, TaggingSettings, TopicConfig

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}$")


def _resolve_env_ref(value: Any) -> Any:
    if isinstance(value, SecretStr):  # an already validated config, validated again
        return value.get_secret_value()
    if not isinstance(value, str):
        return value
    ref = _ENV_REF.match(value.strip())
    if not ref:
        return value
    name, default = ref.groups()
    resolved = os.environ.get(name)
    if resolved is None:
        if default is None:
            raise ValueError(
                f"environment variable {name} is not set. "
                f"Fix: export {name}=... or write ${{{name}:-}} to make it optional"
            )
        resolved = default
    return resolved


def _require_env_ref(value: Any) -> Any:
    if value is None or isinstance(value, SecretStr):
        return _resolve_env_ref(value)
    if not isinstance(value, str) or not _ENV_REF.match(value.strip()):
        raise ValueError(
            "secrets must be given as an environment reference, not written in the "
            "config. Fix: write ${SOME_ENV_VAR} and export SOME_ENV_VAR"
        )
    return _resolve_env_ref(value)


def _http_url(url: SecretUrl) -> SecretUrl:
    """An absolute http(s) URL with a host, or empty (a sink left unset). The message never
    shows the value: it is a secret."""
    value = url.get_secret_value().strip()
    if not value:
        return url
    fix = "Fix: write the whole URL, such as https://hooks.example.com/..."
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValueError(f"is not a valid URL. {fix}") from None
    if not parts.scheme or not value.lower().startswith(f"{parts.scheme.lower()}://"):
        raise ValueError(f"is not an absolute http(s) URL: it has no scheme. {fix}")
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(
            f"must be an http(s) URL, not {parts.scheme}://. "
            "Fix: use the https:// address the receiving service gives"
        )
    if not host:
        raise ValueError(f"is an http(s) URL without a host. {fix}")
    return url


def _required(url: SecretUrl) -> SecretUrl:
    if not url.get_secret_value().strip():
        raise ValueError("is empty. Fix: set the URL, or export the variable it names")
    return url


EnvStr = Annotated[str, BeforeValidator(_resolve_env_ref)]
"""A string that may be written as ${ENV} or ${ENV:-default}."""
Secret = Annotated[SecretValue, BeforeValidator(_require_env_ref)]
"""A secret: must be an ${ENV} reference; never printed, never logged (SecretValue)."""
SecretEnvUrl = Annotated[SecretUrl, BeforeValidator(_require_env_ref), AfterValidator(_http_url)]
"""A URL that is itself the credential (Slack's webhook): an ${ENV} reference to an http(s) URL."""
EndpointUrl = Annotated[
    SecretUrl,
    BeforeValidator(_resolve_env_ref),
    AfterValidator(_http_url),
    AfterValidator(_required),
]
"""A webhook endpoint: written in the config or as ${ENV}; its path or query may carry a token,
so it is treated as a secret all the same."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _seconds(value: Any) -> Any:
    """Durations: a number of seconds, or '90s', '5m', '2h', '1d'."""
    if isinstance(value, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if not found:
            raise ValueError(
                f"'{value}' is not a duration. Fix: write seconds (90) or a number "
                f"with s, m, h or d (90s, 5m, 2h, 1d)"
            )
        number, unit = found.groups()
        return float(number) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return value


Duration = Annotated[
    float, BeforeValidator(_seconds), Field(ge=0, le=30 * DAY, allow_inf_nan=False)
]
"""Seconds, at most 30 days: `group_wait: .inf` must fail `check`, not overflow every cycle."""


class FeedConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: str = Field(min_length=1)
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=150,
        description="display name in alerts (default: the config id)",
    )
    stale_after: Duration = Field(
        default=12 * HOUR,
        description="an alert for an article published this long before it was polled is "
        "marked as old (durations: seconds or 30m / 12h / 3d; at most 30 days; 0: never)",
    )
    interval: int = Field(
        default=300, ge=1, le=WEEK, description="seconds between polls (at most 7 days)"
    )
    tags: list[str] = Field(default_factory=list)
    backfill_hours: float | None = Field(
        default=24,
        ge=0,
        le=24 * 3650,
        allow_inf_nan=False,
        description="first poll of a feed: alert only items published within "
        "this many hours (null: alert the whole backlog; at most 10 years of hours)",
    )
    allow_private: bool = Field(
        default=False,
        description="let redirects lead to loopback, private, link-local or other internal "
        "addresses (an intranet feed behind a public name); by default a redirect from a "
        "public host to an internal address is refused",
    )


class FetchSettings(_Strict):
    connect_timeout: float = Field(
        default=5.0, gt=0, le=HOUR, description="seconds to connect (at most 1 hour)"
    )
    read_timeout: float = Field(
        default=10.0, gt=0, le=HOUR, description="seconds between two reads (at most 1 hour)"
    )
    deadline: float = Field(
        default=30.0, gt=0, le=HOUR, description="total seconds for one fetch (at most 1 hour)"
    )
    max_bytes: int = Field(
        default=10_000_000,
        gt=0,
        le=1_000_000_000,
        description="body cap in bytes, after decompression (at most 1 GB)",
    )
    max_redirects: int = Field(default=5, ge=0, le=50, description="redirects (at most 50)")
    per_host: int = Field(
        default=2, ge=1, le=64, description="concurrent requests per host (at most 64)"
    )
    contact: str | None = Field(
        default=None,
        description="operator URL or email, added to the User-Agent so feed owners can reach you",
    )
    cycle_deadline: float = Field(
        default=120.0,
        gt=0,
        le=HOUR,
        description="seconds from a cycle's start to fetch its feeds; a feed not fetched by then "
        "is dead-lettered as timeout and due again next cycle (at most 1 hour)",
    )


class ConsoleSink(_Strict):
    type: Literal["console"]
    color: bool | None = None
    stream: Literal["stdout", "stderr"] = Field(
        default="stdout",
        description="where alerts are printed (`run --json` always uses stderr: stdout is JSON)",
    )


class JsonlSink(_Strict):
    type: Literal["jsonl"]
    path: str


class _HttpSink(_Strict):
    """What every sink that posts over HTTP shares: its timeout and retry policy."""

    timeout: float = Field(
        default=10.0, gt=0, le=HOUR, description="seconds per request (at most 1 hour)"
    )
    max_retries: int = Field(default=5, ge=0, le=20, description="retries (at most 20)")
    retry_backoff: float = Field(
        default=0.5,
        ge=0,
        le=HOUR,
        description="first retry delay in seconds, doubled each time (at most 1 hour)",
    )
    max_retry_after: float = Field(
        default=60.0,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="longest Retry-After (seconds) a retry waits for inside a cycle (at most "
        "600); a longer one parks the sink: its alerts wait for a later cycle",
    )
    auto_redeliver_hours: float = Field(
        default=24.0,
        ge=0,
        le=720,
        allow_inf_nan=False,
        description="when the sink is back after an outage or a park, resend by itself the "
        "alerts that failed for that reason within this many hours, in order (0: never, "
        "only `wirewatch redeliver` does; at most 30 days)",
    )


class SlackSink(_HttpSink):
    type: Literal["slack"]
    webhook_url: SecretEnvUrl | None = None
    token: Secret | None = None
    channel: EnvStr | None = None
    api_url: EnvStr | None = Field(default=None, description="Web API base URL (tests, GovSlack)")
    optional: bool = Field(default=False, description="skip quietly when no credentials resolve")
    pace: float = Field(
        default=1.0,
        ge=0,
        le=HOUR,
        description="seconds between two messages (Slack allows about one per second per "
        "channel; at most 1 hour)",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url and self.webhook_url.get_secret_value()) or bool(
            self.token and self.token.get_secret_value() and self.channel
        )

    @model_validator(mode="after")
    def _credentials(self) -> SlackSink:
        if not self.enabled and not self.optional:
            raise ValueError(
                "needs webhook_url, or token and channel. Fix: set webhook_url: "
                "${SLACK_WEBHOOK_URL}, or mark the sink optional: true"
            )
        return self


class WebhookSink(_HttpSink):
    type: Literal["webhook"]
    url: EndpointUrl
    secret: Secret | None = None


Sink = Annotated[Union[ConsoleSink, JsonlSink, SlackSink, WebhookSink], Field(discriminator="type")]


class QuietHours(_Strict):
    """A daily window in which a route's alerts are held, then sent as one digest."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")
    timezone: str = "UTC"
    except_severity: list[Literal["info", "warning", "critical"]] = Field(
        default_factory=lambda: ["critical"], description="severities that still go out at once"
    )

    @model_validator(mode="after")
    def _known_zone(self) -> QuietHours:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone '{self.timezone}'. Fix: use an IANA name such as "
                f"Europe/Berlin or America/New_York"
            ) from None
        return self


GroupField = Literal["rule", "story", "entity", "topic", "feed"]


class RouteConfig(_Strict):
    rules: list[str] = Field(default_factory=list, description="rule ids; empty means every rule")
    severity: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    sinks: list[str] = Field(
        default_factory=list, description="empty: matches selected here are dropped"
    )
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[GroupField] = Field(default_factory=lambda: ["rule"])
    group_wait: Duration = Field(
        default=30,
        description="hold a new group's first alert this long so a burst goes out as one digest "
        "(0: send the first alerts of a burst at once, up to max_alerts)",
    )
    group_interval: Duration = Field(default=300, description="window for max_alerts")
    max_alerts: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="messages per group per window; the overflow becomes one digest",
    )
    repeat_interval: Duration = Field(
        default=0,
        description="at least this long between two digests of one group (0: group_interval)",
    )
    quiet_hours: QuietHours | None = None

    def selects(self, rule_id: str, severity: str, labels: dict[str, str]) -> bool:
        return (
            (not self.rules or rule_id in self.rules)
            and (not self.severity or severity in self.severity)
            and all(labels.get(k) == v for k, v in self.labels.items())
        )


class Silence(_Strict):
    """Mute matches of a rule, entity, topic or feed until a time (all given fields must hold)."""

    rule: str | None = None
    entity: str | None = None
    topic: str | None = None
    feed: str | None = None
    until: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _selects_something(self) -> Silence:
        if not (self.rule or self.entity or self.topic or self.feed):
            raise ValueError("a silence needs rule, entity, topic or feed. Fix: add one of them")
        if self.until.tzinfo is None:
            self.until = self.until.replace(tzinfo=timezone.utc)
        return self


class ConfigFragment(_Strict):
    """What one file may hold. The main file may also hold `include` and the settings."""

    include: list[str] = Field(default_factory=list)
    builtin_lists: bool = Field(
        default=True,
        description="start from the shipped IPTC taxonomy and gazetteer (your own taxonomy "
        "and entities extend them; one with a built-in id replaces it); false: only your own",
    )
    feeds: list[FeedConfig] = Field(default_factory=list)
    taxonomy: list[TopicConfig] = Field(default_factory=list)
    entities: list[EntityConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    sinks: dict[str, Sink] = Field(default_factory=dict)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    state_dir: EnvStr | None = None
    state: EnvStr | None = Field(
        default=None,
        repr=False,  # may hold a password: config.redacted() shows it without
        description=(
            "the state store's URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (write "
            "${ENV} to keep a password out of the file; it is never printed). Overrides "
            "state_dir; --state and --state-dir override both"
        ),
    )
    dead_letters: str | None = Field(default=None, description="JSONL file for dead letters")
    silences: list[Silence] = Field(default_factory=list)
    seen_retention_days: float = Field(
        default=30,
        gt=0,
        le=3650,
        allow_inf_nan=False,
        description="watch mode forgets seen articles no feed has listed for this long "
        "(days, at most 10 years)",
    )
    stories: StorySettings = Field(default_factory=StorySettings)
    tagging: TaggingSettings = Field(default_factory=TaggingSettings)
    lease_seconds: float = Field(
        default=120,
        ge=5,
        le=86400,
        description=(
            "workers sharing a state store: how long a worker holds the feeds it polls; a "
            "worker that dies loses them after this long and the others take over. Must "
            "exceed the longest cycle"
        ),
    )


class Config(ConfigFragment):
    """The merged, cross-checked config. `source` is the main file, for messages."""

    source: str = ""

    def redacted(self) -> dict:
        """A dump safe to print: every secret shows as <secret>."""

        def scrub(value):
            if isinstance(value, SecretStr):
                return "<secret>" if value.get_secret_value() else ""
            if isinstance(value, dict):
                return {k: scrub(v) for k, v in value.items()}
            if isinstance(value, list):
                return [scrub(v) for v in value]
            return value

        dump = scrub(self.model_dump(by_alias=True, exclude={"source"}))
        if dump.get("state"):
            dump["state"] = redact_url(dump["state"])
        return dump

    def sinks_for(self, rule: RuleConfig) -> list[str]:
        """The sinks a rule's matches reach: its own list, else the routes that select it."""
        chosen: list[str] = []
        for _, sink in self.deliveries_for(rule):
            if sink not in chosen:
                chosen.append(sink)
        return chosen

    def deliveries_for(self, rule: RuleConfig) -> list[tuple[int, str]]:
        """(route index, sink) pairs for a rule; route -1 means the rule's own `sinks:`."""
        if rule.sinks:
            return [(-1, sink) for sink in rule.sinks]
        pairs: list[tuple[int, str]] = []
        for i, route in enumerate(self.routes):
            if route.selects(rule.id, rule.severity, rule.labels):
                pairs += [(i, s) for s in route.sinks if s not in {p[1] for p in pairs}]
                if not route.continue_:
                    break
        return pairs

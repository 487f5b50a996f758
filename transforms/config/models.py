"""The config's pydantic models: what each section may hold, validated once at load.

Secrets are accepted only as `${ENV}` references (`Secret`, a SecretStr, never printed) and
plain strings may use `${ENV:-default}` (`EnvStr`). A URL that can carry a credential (Slack's
webhook, a webhook sink's) is a `SecretUrl`: never printed, taken out of every log line and
message (transforms/secrets.py), and checked here to be an absolute http(s) URL with a host.
A sink's references must resolve only for the commands that deliver: validated with the context
`{"require_secrets": False}` (`load_config(..., require_secrets=False)`), an unset variable
becomes `<unset>` (an `UnsetSecret`) instead of an error. Every length of time is a `duration`
(transforms/duration.py: `30`, `30s`, `5m`, `1h`). Unknown keys are errors everywhere
(`_Strict`): a typo must not silently disable a rule. The config travels to workers as plain
data (`Config.model_dump()` round-trips), so nothing here may hold a client or a compiled object.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from wirewatch.transforms.duration import DAY, HOUR, WEEK, duration
from wirewatch.transforms.errors import redact_url
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.secrets import UNSET, SecretUrl, SecretValue, UnsetSecret, is_given
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.tagging.schema import EntityConfig, TaggingSettings, TopicConfig

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}$")


def _resolve_env_ref(value: Any, unset: Any = None) -> Any:
    """`value` with its ${ENV} reference resolved; an unset variable without a default is an
    error, or `unset` when one is given (a sink's reference, in a command that delivers nothing)."""
    if isinstance(value, UnsetSecret):
        return value
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
        if default is not None:
            return default
        if unset is not None:
            return unset
        raise ValueError(
            f"environment variable {name} is not set. "
            f"Fix: export {name}=..., or write ${{{name}:-}} for an empty default (a sink's "
            "secret: mark the sink `optional: true` too, or it refuses the empty value)"
        )
    return resolved


def _secrets_optional(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("require_secrets") is False


def _sink_ref(value: Any, info: ValidationInfo) -> Any:
    """A sink's plain string (Slack's channel): `<unset>` for an unset variable when secrets
    are not required."""
    return _resolve_env_ref(value, UNSET if _secrets_optional(info) else None)


def _sink_secret_ref(value: Any, info: ValidationInfo) -> Any:
    return _resolve_env_ref(value, UnsetSecret() if _secrets_optional(info) else None)


def _require_env_ref(value: Any, info: ValidationInfo) -> Any:
    if value is None or isinstance(value, SecretStr):
        return _sink_secret_ref(value, info)
    if not isinstance(value, str) or not _ENV_REF.match(value.strip()):
        raise ValueError(
            "secrets must be given as an environment reference, not written in the "
            "config. Fix: write ${SOME_ENV_VAR} and export SOME_ENV_VAR"
        )
    return _sink_secret_ref(value, info)


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
    if not isinstance(url, UnsetSecret) and not url.get_secret_value().strip():
        raise ValueError("is empty. Fix: set the URL, or export the variable it names")
    return url


EnvStr = Annotated[str, BeforeValidator(_resolve_env_ref)]
"""A string that may be written as ${ENV} or ${ENV:-default}."""
SinkStr = Annotated[str, BeforeValidator(_sink_ref)]
"""A sink's string that may be written as ${ENV}: `<unset>` when secrets are not required."""
_ENV_REF_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": _ENV_REF.pattern, "format": "password", "writeOnly": True}
)
Secret = Annotated[SecretValue, BeforeValidator(_require_env_ref), _ENV_REF_SCHEMA]
"""A secret: must be an ${ENV} reference; never printed, never logged (SecretValue)."""
SecretEnvUrl = Annotated[
    SecretUrl, BeforeValidator(_require_env_ref), AfterValidator(_http_url), _ENV_REF_SCHEMA
]
"""A URL that is itself the credential (Slack's webhook): an ${ENV} reference to an http(s) URL."""
EndpointUrl = Annotated[
    SecretUrl,
    BeforeValidator(_sink_secret_ref),
    AfterValidator(_http_url),
    AfterValidator(_required),
]
"""A webhook endpoint: written in the config or as ${ENV}; its path or query may carry a token,
so it is treated as a secret all the same."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_flag_for_a_number(cls, data: Any) -> Any:
        """YAML's true/yes/on is a bool, and pydantic reads a bool as 1 for a number:
        `interval: true` polled every second, `max_bytes: true` took one byte."""
        if not isinstance(data, dict):
            return data
        flags = [
            name
            for name, value in data.items()
            if isinstance(value, bool)
            and name in cls.model_fields
            and _numeric(cls.model_fields[name].annotation)
        ]
        if flags:
            raise ValueError(
                f"{', '.join(flags)}: true or false (yes, no, on, off) is not a number. "
                "Fix: write a number"
            )
        return data


def _numeric(annotation: Any) -> bool:
    """int or float, or either or None (the annotation pydantic keeps of Annotated[int, ...])."""
    kinds = set(get_args(annotation)) - {type(None)} if get_args(annotation) else {annotation}
    return bool(kinds) and kinds <= {int, float}


Duration = duration(most=30 * DAY)
"""Seconds, at most 30 days: `group_wait: .inf` must fail `check`, not overflow every cycle."""
Timeout = duration(above=True, most=HOUR)
"""Seconds above 0, at most an hour: a fetch's or a request's time limit."""
Delay = duration(most=HOUR)
"""Seconds, at most an hour: a pause between two tries or two messages."""


class FeedConfig(_Strict):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the feed's id: in alerts, `wirewatch state` and dead letters",
    )
    url: str = Field(
        min_length=1,
        description="http(s) URL of the RSS/Atom/JSON feed, or a local file (a path relative "
        "to this config file, or file://)",
    )
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
    interval: duration(least=1, most=WEEK, whole=True) = Field(  # type: ignore[valid-type]
        default=300, description="time between polls (a duration: 300, 5m; at most 7 days)"
    )
    tags: list[str] = Field(default_factory=list, description="free labels for the feed")
    backfill_hours: duration(HOUR, most=24 * 3650) | None = Field(  # type: ignore[valid-type]
        default=24,
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
    connect_timeout: Timeout = Field(default=5.0, description="seconds to connect (at most 1 hour)")
    read_timeout: Timeout = Field(
        default=10.0, description="seconds between two reads (at most 1 hour)"
    )
    deadline: Timeout = Field(
        default=30.0, description="total seconds for one fetch (at most 1 hour)"
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
    cycle_deadline: Timeout = Field(
        default=120.0,
        description="seconds from a cycle's start to fetch its feeds; a feed not fetched by then "
        "is dead-lettered as timeout and due again next cycle (at most 1 hour)",
    )


class ConsoleSink(_Strict):
    type: Literal["console"] = Field(description="prints each alert as text")
    color: bool | None = Field(
        default=None,
        description="ANSI colours (default: when the stream is a terminal and NO_COLOR is not set)",
    )
    stream: Literal["stdout", "stderr"] = Field(
        default="stdout",
        description="where alerts are printed (`run --json` always uses stderr: stdout is JSON)",
    )


class JsonlSink(_Strict):
    type: Literal["jsonl"] = Field(description="appends each alert to a file as one JSON line")
    path: str = Field(description="the file; a relative path is relative to this config file")


def _read_secret_file(name: str, given: Any, info: ValidationInfo) -> SecretValue:
    """The secret in the file `<name>_file` names (relative to the config file; trailing
    whitespace dropped): a mounted Docker or Kubernetes secret, a systemd credential."""
    base = info.context.get("base", ".") if isinstance(info.context, dict) else "."
    path = Path(base) / str(given)
    try:
        return SecretValue(path.read_text(encoding="utf-8").rstrip())
    except (OSError, UnicodeDecodeError) as exc:
        if _secrets_optional(info):
            return UnsetSecret()
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ValueError(
            f"cannot read {name}_file {path}: {why}. Fix: point it at a readable file, or let "
            f"this user read it"
        ) from None


class _HttpSink(_Strict):
    """What every sink that posts over HTTP shares: its timeout and retry policy, and its
    secrets given as files (`token_file: /run/secrets/slack_token`) instead of ${ENV}."""

    _secret_files: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls._secret_files:
            given = data.get(f"{name}_file")
            if given is None or isinstance(data.get(name), SecretStr):  # read already
                continue
            if data.get(name) is not None:
                raise ValueError(f"gives both {name} and {name}_file. Fix: keep one of them")
            data[name] = _read_secret_file(name, given, info)
        return data

    timeout: Timeout = Field(default=10.0, description="seconds per request (at most 1 hour)")
    max_retries: int = Field(default=5, ge=0, le=20, description="retries (at most 20)")
    retry_backoff: Delay = Field(
        default=0.5, description="first retry delay in seconds, doubled each time (at most 1 hour)"
    )
    max_retry_after: duration(most=600) = Field(  # type: ignore[valid-type]
        default=60.0,
        description="longest Retry-After (seconds) a retry waits for inside a cycle (at most "
        "600); a longer one parks the sink: its alerts wait for a later cycle",
    )
    auto_redeliver_hours: duration(HOUR, most=720) = Field(  # type: ignore[valid-type]
        default=24.0,
        description="when the sink is back after an outage or a park, resend by itself the "
        "alerts that failed for that reason within this many hours, in order (0: never, "
        "only `wirewatch redeliver` does; at most 30 days)",
    )


class SlackSink(_HttpSink):
    _secret_files = ("webhook_url", "token")

    type: Literal["slack"] = Field(description="posts each alert to Slack (Block Kit)")
    webhook_url: SecretEnvUrl | None = Field(
        default=None,
        description="an incoming webhook's URL, only as ${ENV} (a secret: never printed)",
    )
    token: Secret | None = Field(
        default=None, description="a bot token (xoxb-...), only as ${ENV}; needs channel"
    )
    webhook_url_file: str | None = Field(
        default=None, description="a file holding webhook_url (relative to this config file)"
    )
    token_file: str | None = Field(
        default=None, description="a file holding token (relative to this config file)"
    )
    channel: SinkStr | None = Field(
        default=None, description="the channel a bot token posts to (#name or an id)"
    )
    api_url: SinkStr | None = Field(default=None, description="Web API base URL (tests, GovSlack)")
    optional: bool = Field(default=False, description="skip quietly when no credentials resolve")
    pace: Delay = Field(
        default=1.0,
        description="seconds between two messages (Slack allows about one per second per "
        "channel; at most 1 hour)",
    )

    @property
    def enabled(self) -> bool:
        return is_given(self.webhook_url) or (is_given(self.token) and is_given(self.channel))

    @model_validator(mode="after")
    def _credentials(self) -> SlackSink:
        if not self.enabled and not self.optional:
            raise ValueError(
                "needs webhook_url, or token and channel. Fix: set webhook_url: "
                "${SLACK_WEBHOOK_URL}, or mark the sink optional: true"
            )
        return self


class WebhookSink(_HttpSink):
    type: Literal["webhook"] = Field(description="POSTs each alert as JSON to a URL")
    url: EndpointUrl = Field(
        description="the receiver's http(s) URL, in the config or as ${ENV} (treated as a "
        "secret: its path or query may carry a token)"
    )
    secret: Secret | None = Field(
        default=None,
        description="HMAC-SHA256 key, only as ${ENV}: each request is signed with it",
    )
    secret_file: str | None = Field(
        default=None, description="a file holding secret (relative to this config file)"
    )

    _secret_files = ("secret",)

    @model_validator(mode="after")
    def _signing_key_given(self) -> WebhookSink:
        """An empty key (a variable set to "", an empty secret_file) turned signing off
        without a word: the receiver then rejects every alert, or takes forged ones."""
        secret = self.secret
        if secret is not None and not isinstance(secret, UnsetSecret):
            if not secret.get_secret_value():
                raise ValueError(
                    "secret is empty: requests would go out unsigned. Fix: give the "
                    "receiver's key, or remove secret (and secret_file) to send unsigned"
                )
        return self


Sink = Annotated[Union[ConsoleSink, JsonlSink, SlackSink, WebhookSink], Field(discriminator="type")]


class QuietHours(_Strict):
    """A daily window in which a route's alerts are held, then sent as one digest."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")
    timezone: str = Field(default="UTC", description="IANA time zone of start and end")
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


def _check_template(source: str) -> None:
    """A message template must parse (and Jinja2 be installed) at load, not at the first alert."""
    from wirewatch.transforms.sinks.templates import compile_template

    compile_template(source)


GroupField = Literal["rule", "story", "entity", "topic", "feed"]


class RouteConfig(_Strict):
    _number: int | None = PrivateAttr(default=None)

    @property
    def number(self) -> int | None:
        """Its number as the files give it (set by loader.py; None: not loaded from files):
        a route left out for its own problem does not renumber the rest in what `check`
        names."""
        return self._number

    @number.setter
    def number(self, value: int) -> None:
        self._number = value

    rules: list[str] = Field(default_factory=list, description="rule ids; empty means every rule")
    severity: list[str] = Field(
        default_factory=list, description="rule severities; empty means every severity"
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="rule labels that must all be equal (desk: business)"
    )
    sinks: list[str] = Field(
        default_factory=list, description="empty: matches selected here are dropped"
    )
    continue_: bool = Field(
        default=False,
        alias="continue",
        description="after this route, try the next ones too (default: the first route that "
        "selects a rule is the only one)",
    )
    group_by: list[GroupField] = Field(
        default_factory=lambda: ["rule"],
        description="what makes one flood-control group (max_alerts, digests)",
    )
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
    quiet_hours: QuietHours | None = Field(
        default=None, description="a daily window whose alerts wait and go out as one digest"
    )
    template: str | None = Field(
        default=None,
        description="a Jinja2 template (sandboxed) for the main text of this route's Slack "
        "alerts; feed values arrive escaped. Needs wirewatch[templates]. See README, Message "
        "templates",
    )
    template_file: str | None = Field(
        default=None,
        description="the template in a file, relative to this config file (instead of template)",
    )

    @model_validator(mode="before")
    @classmethod
    def _template_from_file(cls, data: Any, info: ValidationInfo) -> Any:
        """Reads `template_file` into `template` once, at load (a worker gets the text)."""
        if not isinstance(data, dict) or not data.get("template_file"):
            return data
        if data.get("template") is not None:
            raise ValueError("gives both template and template_file. Fix: keep one of them")
        base = info.context.get("base", ".") if isinstance(info.context, dict) else "."
        path = Path(base) / str(data["template_file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ValueError(
                f"cannot read template_file {path}: {why}. Fix: point it at a readable file"
            ) from None
        try:
            _check_template(text)
        except ValueError as exc:
            raise ValueError(f"template_file {path}: {exc}") from None
        return {**data, "template": text, "template_file": None}

    @field_validator("template")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _check_template(value)
        return value

    def selects(self, rule_id: str, severity: str, labels: dict[str, str]) -> bool:
        return (
            (not self.rules or rule_id in self.rules)
            and (not self.severity or severity in self.severity)
            and all(labels.get(k) == v for k, v in self.labels.items())
        )


class Silence(_Strict):
    """Mute matches of a rule, entity, topic or feed until a time (all given fields must hold)."""

    rule: str | None = Field(default=None, description="mute this rule's matches")
    entity: str | None = Field(default=None, description="mute matches naming this entity id")
    topic: str | None = Field(default=None, description="mute matches tagged with this topic id")
    feed: str | None = Field(default=None, description="mute matches from this feed id")
    until: datetime = Field(description="when the silence ends (ISO 8601; default zone UTC)")
    reason: str = Field(default="", description="why, for whoever reads the config later")

    @model_validator(mode="after")
    def _selects_something(self) -> Silence:
        if not (self.rule or self.entity or self.topic or self.feed):
            raise ValueError("a silence needs rule, entity, topic or feed. Fix: add one of them")
        if self.until.tzinfo is None:
            self.until = self.until.replace(tzinfo=timezone.utc)
        return self


class ConfigFragment(_Strict):
    """What one file may hold. The main file may also hold `include` and the settings."""

    include: list[str] = Field(
        default_factory=list,
        description="more config files (globs, relative to this file): their feeds, taxonomy, "
        "entities, rules, routes and sinks are added",
    )
    builtin_lists: bool = Field(
        default=True,
        description="start from the shipped IPTC taxonomy and gazetteer (your own taxonomy "
        "and entities extend them; one with a built-in id replaces it); false: only your own",
    )
    feeds: list[FeedConfig] = Field(default_factory=list, description="the feeds to poll")
    taxonomy: list[TopicConfig] = Field(
        default_factory=list, description="topics (added to the built-in IPTC taxonomy)"
    )
    entities: list[EntityConfig] = Field(
        default_factory=list, description="people, organisations, places (added to the gazetteer)"
    )
    rules: list[RuleConfig] = Field(default_factory=list, description="the watch rules")
    routes: list[RouteConfig] = Field(
        default_factory=list, description="which rules' matches go to which sinks, in order"
    )
    sinks: dict[str, Sink] = Field(
        default_factory=dict, description="where alerts go, by name: console, jsonl, slack, webhook"
    )
    fetch: FetchSettings = Field(
        default_factory=FetchSettings, description="HTTP limits for fetching feeds"
    )
    state_dir: EnvStr | None = Field(
        default=None,
        description="folder of the SQLite state store (relative to this file; default: the user "
        "state directory)",
    )
    state: EnvStr | None = Field(
        default=None,
        repr=False,  # may hold a password: config.redacted() shows it without
        description=(
            "the state store's URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (write "
            "${ENV} to keep a password out of the file; it is never printed). Overrides "
            "state_dir; --state and --state-dir override both"
        ),
    )
    dead_letters: str | None = Field(
        default=None,
        description="JSONL file for dead letters (relative to this file; default: "
        "dead-letters.jsonl in the state directory)",
    )
    silences: list[Silence] = Field(
        default_factory=list, description="mute a rule, entity, topic or feed until a time"
    )
    seen_retention_days: duration(DAY, above=True, most=3650) = Field(  # type: ignore[valid-type]
        default=30,
        description="watch mode forgets seen articles no feed has listed for this long "
        "(days, at most 10 years)",
    )
    stories: StorySettings = Field(
        default_factory=StorySettings, description="how articles are grouped into stories"
    )
    tagging: TaggingSettings = Field(
        default_factory=TaggingSettings, description="how topics and entities are tagged"
    )
    lease_seconds: duration(least=5, most=DAY) = Field(  # type: ignore[valid-type]
        default=120,
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
            if isinstance(value, UnsetSecret):
                return UNSET
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

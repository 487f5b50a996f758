"""What every state store backend promises: one `StateStore` Protocol, grouped by concern.

The pipeline, the CLI and the story index talk only to this interface; `open_store(location)`
(state/__init__.py) picks the backend. A backend is a context manager (`with open_store(...) as
store:` closes it) and offers `transaction()`: the writes of its block are one atomic unit, and
the methods called on the same store from the same thread inside the block belong to it.

Contract notes a backend must keep (tests/state/test_contract.py checks them on every backend):
- Every method is atomic on its own; a method that checks and then sets (`claim_alert`) does both
  in one transaction.
- `transaction()` nests: an inner block is a savepoint, so an exception that leaves it undoes
  only its writes; an exception that leaves the outermost block undoes everything. A method
  called inside a block joins it (no savepoint of its own: savepoints cost SQLite a statement
  journal); if it raises, let the exception leave the block.
- Story assignment reads candidates, decides, and then inserts. The reads may run without a
  lock after a `story_mark()`; the insert runs inside `transaction()` after `lock_stories()`,
  which must make it exclusive across all writers of the store (SQLite's write lock already
  does; a shared database needs a lock of its own), and only once `story_changes(mark)` shows
  that nothing the decisions depended on was stored since (else they are made again, under
  the lock). Seqs therefore only grow, in commit order.
- Times in the story methods are unix seconds (floats); everything else takes aware datetimes.
- Leases (alert claims, feed leases, digest claims) end at a time the store computes from its
  own clock (or the `now` passed in), so the expiry is decided by one clock per store; a lease
  that ran out is taken over, never waited for. Callers take that `now` from `store.now()`,
  never from their host: a shared store's clock is its server's (server_clock.py), so hosts
  whose clocks disagree still agree on whose lease has ended. A lease is what lets several
  workers share one store: the holder of a live lease does the work, a dead holder's work
  comes back after it.

No SQL here, no Beam: the models are plain data.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Collection, Iterable, Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel

from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState


class FeedState(BaseModel):
    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_due: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    ttl_minutes: int | None = None  # the feed's own <ttl>, a floor on its poll interval


CLAIM_LEASE_SECONDS = 300.0
"""How long a claim on an alert ('sending') keeps others off it. Longer than one send with all
its retries (the default retry policy spends about 20 s on an alert during an outage: three
retries with 1-2-4 s backoff and a request timeout each; a long Retry-After parks the sink
instead of sleeping), so a live sender never loses its claim mid-send; short enough that the
alert of a worker that died between claim and outcome is re-offered a few minutes later."""


class Lease(NamedTuple):
    """Who holds a lease and for how long: an alert claim (`claim_alert`) or a feed lease
    (`lease_due_feeds`). The store computes the end from its own clock (or the `now` passed
    in); the holder is `owner`, a worker's name (owner.worker_name)."""

    owner: str = ""
    seconds: float = CLAIM_LEASE_SECONDS


class Hold(NamedTuple):
    """A claimed alert that now waits in a digest group (`save_group`): its ledger key, the
    payload that replaces the stored one (None keeps it), and when it was held (None: the
    store's now). The time orders a digest: a batch saves its holds together at its end
    (batch_ledger.py), each with the time flood control decided it."""

    key: str
    payload: str | None = None
    at: datetime | None = None


class AlertRecord(BaseModel):
    key: str
    sink: str
    status: str  # sending | held (waiting for a digest) | sent | dead
    attempts: int
    error: str | None
    payload: str  # Alert JSON, so a dead alert can be redelivered without the article
    updated_at: datetime
    lease_owner: str | None = None  # who holds the claim while 'sending'
    lease_until: datetime | None = None  # when that claim ends ('sending' only)
    deferred_at: datetime | None = None
    """'dead' only: when it first failed for a reason that passes by itself (its sink was down,
    or rate-limited it): it is redelivered automatically, in this order, once the sink is back."""


class SinkHealth(BaseModel):
    """One sink's delivery health, shared by every worker of the store: a sink whose deliveries
    keep failing, or whose server asked for a long wait, is skipped until `down_until`
    (transforms/sinks/health.py decides; the store keeps it)."""

    sink: str
    failures: int = 0  # deliveries in a row that failed for a transient reason
    down_until: datetime | None = None  # skipped until then (a backoff, or a Retry-After park)
    reason: str | None = None  # the last failure or park, for people
    updated_at: datetime | None = None


class WorkerInfo(BaseModel):
    """A worker that beat on the store (`heartbeat`), for `wirewatch state`."""

    worker: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    leases: list[str] = []  # feed ids it holds a live lease on, sorted


class StoreUnavailable(WirewatchError):
    """The store cannot be reached, or was lost mid-use; the message says which and the fix.
    One-shot commands exit 2 with it; the watch loop retries with backoff."""

    label = "state store error"

    def __init__(self, location: str, message: str, fix: str = ""):
        super().__init__([Problem(file=location, message=message, fix=fix)])


class StoreBusy(WirewatchError):
    """Another process owns the store (`acquire_owner`): its pid and host, and the fix."""

    label = "state store busy"

    def __init__(self, location: str, pid: int | str, host: str):
        self.pid, self.host = pid, host
        who = f"pid {pid} on {host}"
        super().__init__(
            [
                Problem(
                    file=location,
                    message=f"the state store is in use by another wirewatch ({who})",
                    fix=f"stop the other wirewatch ({who}) or use another --state-dir",
                )
            ]
        )


# --- the story index's records (the index turns them into stories/model.py objects) ----------
class StoryMatch(NamedTuple):
    """An indexed article that may be the same story; a URL match leaves the features empty."""

    article_id: str
    story_id: str
    published: float
    full_fp: bytes = b""  # packed feature hashes (stories/fingerprint.py pack), opaque here
    title_fp: bytes = b""
    title_words: int = 0
    entities: frozenset[str] = frozenset()
    bands: frozenset[int] = frozenset()  # a candidate: which of the asked bands it is filed under


UrlMatches = dict[str, list[StoryMatch]]
"""Per URL key, the indexed articles with that key (`story_urls`)."""


class StoryEntry(NamedTuple):
    """One assigned article as stored: how it joined, and what later comparisons need."""

    article_id: str
    story_id: str
    feed_id: str
    title: str
    link: str | None
    url_key: str | None
    published: float
    kind: str  # new | copy | update
    basis: str  # new | url | text | title
    similarity: float
    matched: str | None  # the member it matched (for "new": the closest one below threshold)
    markers: frozenset[str]
    entities: frozenset[str]
    full_fp: bytes
    title_fp: bytes
    title_words: int


class StoryChange(NamedTuple):
    """An article stored since a `story_mark`: what a decision made before it must not have
    missed (`stories/index.py` checks a bundle's decisions against these before saving)."""

    article_id: str
    story_id: str
    url_key: str | None
    shares_band: bool  # filed under one of the bands asked about


class StoryChain(NamedTuple):
    """A run of story saves made only by the parts of one partition, one after another: its
    `token`, the store's mark when the partition looked (`start`) and after the last part
    saved (`end`). A part that finds the chain ending at the store's mark now knows nothing
    but its siblings was stored since the partition looked (stories/index.py)."""

    token: str
    start: int
    end: int


class StoryLink(NamedTuple):
    """The stored assignment of an article id (what re-assigning it returns)."""

    story_id: str
    kind: str
    similarity: float
    basis: str
    matched: str | None
    first_article_id: str


class StoryCluster(NamedTuple):
    """One story's totals, for listing (and, given to `save_stories`, what a batch adds)."""

    story_id: str
    first_article_id: str
    title: str
    first_published: float
    last_published: float
    size: int
    updates: int


class StoryHead(NamedTuple):
    """What joining a stored story needs: its first article and title, the union of its
    members' title markers and their latest publication time."""

    first_article_id: str
    title: str
    markers: frozenset[str]
    latest: float


# --- the concerns -----------------------------------------------------------------------------
class FeedStore(Protocol):
    """Each feed's HTTP validators, failures and schedule."""

    def feed_state(self, feed_id: str) -> FeedState:
        """The saved state, or a blank FeedState(feed_id) for a feed never polled."""
        ...

    def feed_states(self, feed_ids: Iterable[str]) -> dict[str, FeedState]:
        """`feed_state` for many feeds in one read; every id is in the result."""
        ...

    def save_feed_state(self, state: FeedState) -> None:
        """Upsert; a None `ttl_minutes` keeps the stored one (parse saves it separately).
        Ends the feed's lease (`lease_due_feeds`): its poll is committed, its next due time
        decides the next lease."""
        ...

    def save_feed_states(self, states: Iterable[FeedState]) -> None:
        """`save_feed_state` for many feeds in one transaction."""
        ...

    def save_feed_ttl(self, feed_id: str, ttl_minutes: int) -> None:
        """The feed's <ttl>, used as a floor on its poll interval from the next poll on."""
        ...


class SeenStore(Protocol):
    """Keys of articles already processed, with a time that retention prunes by."""

    def seen(self, keys: Iterable[str]) -> set[str]:
        """The subset of `keys` already marked seen (any number of keys, one logical read)."""
        ...

    def mark_seen(self, keys: Iterable[str]) -> None:
        """Mark keys seen now; a key already seen keeps its time."""
        ...

    def touch_seen(self, keys: Iterable[str]) -> None:
        """Refresh keys still listed by their feed, so retention only forgets what left it."""
        ...

    def prune_seen(self, older_than: timedelta) -> int:
        """Forget keys not marked or touched for `older_than`; returns how many went."""
        ...

    def seen_hashes(self, keys: Iterable[str]) -> dict[str, str | None]:
        """The keys of `keys` already marked seen, each with its content hash (None: marked
        without one, e.g. before hashes were kept); one logical read, like `seen`."""
        ...

    def record_seen(self, hashes: Mapping[str, str]) -> None:
        """Mark each key seen with its content hash: a new key gets the time now, a key already
        seen keeps its time and takes the new hash (an edit committed, or a hash adopted)."""
        ...


class LedgerStore(Protocol):
    """The alert ledger (key = rule + story/article + sink) and each story's first alert.

    An article is marked seen only after all its alerts were delivered or dead-lettered, so a
    crash mid-cycle re-processes it; the ledger then stops what did go out from going again.
    """

    def alert(self, key: str) -> AlertRecord | None: ...

    def claim_alert(
        self, key: str, sink: str, payload: str, lease: Lease = Lease(), *, fresh: bool = False
    ) -> bool:
        """Claim the alert for sending: True when the caller now holds the claim, and only then
        may it send. Granted when the key is new, 'dead' (redelivery), 'sending' under a lease
        that ended (lease_until <= now: its sender died), or 'sending' by this same `lease.owner`
        (a restart of the same worker, or a retry inside one cycle). Refused when 'sent' or
        'held' (never send it again) and when 'sending' under another owner's live lease (that
        owner is sending it now). A granted claim sets status 'sending', the owner, and
        lease_until = now + `lease.seconds`; the stored payload stays the first one. Check
        and set are one atomic step in the database. The empty owner is one anonymous owner shared
        by every caller that names none: only a single process may rely on it.
        `fresh`: the claim of an alert a cycle made (its commit's, its first offer), which takes
        a 'sending' row only while this owner's own lease on it lives. A row whose lease ended
        is a sender's that died or failed, perhaps after its sink took the alert: that is
        `expired_claims`' to re-offer, asking the sink what it holds first (an edited entry
        made the same key again, and a JSONL sink got the line twice)."""
        ...

    def claim_alerts(
        self,
        alerts: Iterable[tuple[str, str, str]],
        lease: Lease = Lease(),
        *,
        fresh: bool = False,
    ) -> set[str]:
        """`claim_alert` for each (key, sink, payload), as one atomic step: the keys whose
        claim took. What a batch of alerts costs in one round trip instead of one each."""
        ...

    def finish_alert(
        self,
        key: str,
        status: str,
        attempts: int,
        error: str | None = None,
        deferred: bool = False,
        owner: str | None = None,
    ) -> bool:
        """Set the outcome; `attempts` adds to the stored count. Ends the claim's lease. True
        when the outcome was written (see below for when it is not).
        'sent' also resolves the alert's open delivery dead letters (sets their resolved_at):
        a redelivery, or the re-offer of an expired claim, closed them. `deferred` ('dead'
        only): it failed for a reason that passes by itself; `deferred_at` keeps the time it
        first did (set now if unset). Any other outcome clears `deferred_at`.

        A worker whose claim lapsed mid-send may finish late, after another worker took the
        claim. So an alert already 'sent' stays as it is (a late 'dead' must not undo it: the
        cycle after would send the alert again), and, given the finishing `owner` (the name its
        claim was taken under), an outcome other than 'sent' is written only over that owner's
        own claim ('sending' under its name): not while another owner holds the alert (it
        is sending it now; a 'dead' would let a third worker redeliver it meanwhile), nor
        over a hold another worker saved since. 'sent' is written whoever finishes: it went
        out. Without `owner`, only the first rule applies."""
        ...

    def finish_alerts(
        self,
        keys: Iterable[str],
        status: str,
        attempts: int,
        error: str | None = None,
        deferred: bool = False,
        owner: str | None = None,
    ) -> set[str]:
        """`finish_alert` for each key, as one atomic step: the keys whose outcome was
        written."""
        ...

    def deferred_alerts(self, sink: str, since: datetime) -> list[AlertRecord]:
        """Alerts of `sink` deferred (`finish_alert(deferred=True)`) at or after `since` and
        not sent since: 'dead', or 'sending' again (a worker is redelivering it, or died
        doing so), in the order they were first deferred (then by key): what the dispatcher
        redelivers automatically, in that order, once the sink is back."""
        ...

    def expired_claims(self, sink: str | None, now: datetime) -> list[AlertRecord]:
        """Alerts left in 'sending' whose lease ended at or before `now` (their sender died
        between claim and outcome), of `sink` (None: every sink), oldest claim first. The
        dispatcher re-offers them every cycle, so none is silently dropped; `redeliver` lists
        them. A 'sending' row without a lease (written before leases existed) counts as
        expired."""
        ...

    def alerts(self, status: str, since: datetime | None = None) -> list[AlertRecord]:
        """Alerts with `status`, updated at or after `since`, oldest first."""
        ...

    def held_alerts(self, group_key: str) -> list[AlertRecord]:
        """Alerts waiting in a digest group, oldest first."""
        ...

    def claim_held(self, group_key: str, lease: Lease) -> list[AlertRecord]:
        """`held_alerts`, claimed for sending in one atomic step: each goes to 'sending' under
        `lease` (updated_at stays the time it was held), so a second flusher of the group (its
        group claim ran out, or `run --once` released it) finds nothing to send again;
        `renew_leases` keeps them while a slow digest goes out, and a flusher that dies leaves
        them to expire and be re-offered one by one (`expired_claims`), never lost."""
        ...

    def story_alert(self, story_id: str, rule_id: str, sink: str) -> tuple[str, str | None] | None:
        """(alert key, Slack ts or None) of the story's first alert for this rule and sink."""
        ...

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        """Remember the story's first alert; a later call for the same triple changes nothing."""
        ...

    def record_story_alerts(self, records: Iterable[tuple[str, str, str, str, str | None]]) -> None:
        """`record_story_alert` for each (story_id, rule_id, sink, alert_key, ts), in order."""
        ...

    def story_thread(self, story_id: str, sink: str) -> str | None:
        """The Slack ts of the story's first message on this sink, whichever rule sent it (the
        smallest ts recorded), or None: where an edited entry's new alert goes, as a reply."""
        ...


class GroupStore(Protocol):
    """Flood-control groups: throttle state and the digests they hold."""

    def group_state(self, group_key: str) -> GroupState:
        """The saved state, or a fresh GroupState()."""
        ...

    def save_group(self, group_key: str, sink: str, state: GroupState, *holds: Hold) -> None:
        """Save a group's state; each claimed alert of `holds` now waits in the group (status
        'held', and `hold.payload` replaces its payload when given). An alert no longer in
        'sending' is left as it is: its claim lapsed and another worker sent or held it since
        (a held 'sent' alert would go out again in the group's digest)."""
        ...

    def locked_group(self, group_key: str) -> AbstractContextManager[GroupState]:
        """The group's state, read under a lock on the group that is held until the block
        ends (inside the caller's transaction: until that transaction ends): another worker's
        `locked_group` of the same key waits, and `claim_due_groups` does not hand the group
        out meanwhile, so a read-decide-`save_group` inside the block is one step. Without it
        two workers' decisions on one group cross: both count the same window slot (one more
        alert than max_alerts goes out), a flush saves "nothing held" over the hold another
        worker just saved, or a hold saves back a due time a flusher's claim had moved on (a
        second flusher then claims the group while the first still sends)."""
        ...

    def locked_groups(
        self, group_keys: Iterable[str]
    ) -> AbstractContextManager[dict[str, GroupState]]:
        """`locked_group` for several groups at once: every key's state, each group locked as
        `locked_group` locks it, the locks taken in key order (two callers that took them in
        other orders could each wait for the other)."""
        ...

    def due_groups(self, sink: str, now: datetime) -> list[str]:
        """Keys of the sink's groups whose digest is due at `now`, earliest first."""
        ...

    def claim_due_groups(self, sink: str, now: datetime, lease_seconds: float) -> list[str]:
        """`due_groups`, each group handed to exactly one caller: its due time (the column and
        the saved GroupState's `due_at`) moves to now + `lease_seconds`, atomically with the
        read, so a concurrent caller does not see it due, and a flusher that dies mid-flush
        hands the group back when that time comes. The flusher ends the claim by saving the
        flushed group state (`save_group`). Earliest due first. Also due: a group that holds
        alerts but has no due time (two saves of one group crossed outside `locked_group`: a
        flush's "nothing held" over a hold), taken as due `now`, so its alerts go out, late,
        not never."""
        ...

    def next_group_due(self) -> datetime | None:
        """The earliest digest due time over all groups, or None."""
        ...


class StoryStore(Protocol):
    """Storage of the story index (stories/index.py decides; this stores and finds)."""

    def prepare_stories(self) -> None:
        """Make the story tables ready (idempotent, cheap): the index calls it when built."""
        ...

    def lock_stories(self) -> None:
        """Inside `transaction()`: make this block's story reads and writes exclusive across
        every writer of the store until the transaction ends."""
        ...

    def story_links(self, article_ids: Iterable[str]) -> dict[str, StoryLink]:
        """The stored assignments of those of `article_ids` that have one."""
        ...

    def story_urls(self, url_keys: Iterable[str], lo: float, hi: float) -> UrlMatches:
        """Per URL key, the articles with that key published in [lo, hi], earliest first (then
        the first inserted); the features of a match are left empty."""
        ...

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        """Every article still indexed under any of `bands` (LSH bucket keys) published in
        [lo, hi], each once, in insertion order, with the set of `bands` it is filed under."""
        ...

    def story_mark(self) -> int:
        """A mark of what is stored now: every article stored after it has a higher seq
        (`story_changes`). Needs no lock: decisions are made on what the mark saw, then
        checked under the lock against what came after."""
        ...

    def story_chain(self) -> StoryChain | None:
        """The chain `save_story_chain` saved last, or None."""
        ...

    def save_story_chain(self, chain: StoryChain) -> None:
        """Keep `chain` (one per store, replacing the one before), in the caller's transaction
        (under the story lock, with the saves it accounts for)."""
        ...

    def story_changes(self, since: int, bands: Collection[int]) -> list[StoryChange]:
        """The articles stored after the mark `since`, each once, saying whether it is filed
        under any of `bands` (none given: never)."""
        ...

    def story_heads(self, story_ids: Iterable[str]) -> dict[str, StoryHead]:
        """The stored stories among `story_ids`, with their members' markers and latest time."""
        ...

    def save_stories(
        self, members: Sequence[tuple[StoryEntry, Sequence[int]]], clusters: Iterable[StoryCluster]
    ) -> None:
        """Store a batch: each member entry, in order, filed under its bands; each cluster is
        what the batch adds to its story (size and updates add up, the time span widens; a
        story not stored yet is stored as given, and a stored one keeps its first article and
        title — a founder pruned by retention and re-processed counts again, resets nothing)."""
        ...

    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        """Unfile (drop band entries and features of) articles published before
        `index_before`; delete members published and stories last active before `keep_after`.
        Returns {"band_entries", "articles", "stories"} removed."""
        ...

    def story_members(self, story_id: str) -> list[StoryEntry]:
        """The story's members by publication time (then insertion order)."""
        ...

    def story_clusters(self, limit: int, min_size: int = 1) -> list[StoryCluster]:
        """Stories with at least `min_size` members, latest activity first (then by id)."""
        ...

    def story_cluster(self, story_id: str) -> StoryCluster | None: ...

    def story_counts(self) -> dict[str, int]:
        """{"stories_clusters", "stories_articles", "stories_bands"}: stories, members, band
        entries."""
        ...


class WorkerStore(Protocol):
    """Several workers on one store: who runs, who polls which feed, who owns the store.

    A worker is a name unique to one running process (host:pid). Feed leases keep one due
    time of a feed from being polled twice: a worker polls only the feeds `lease_due_feeds`
    gave it, and a lease ends when the poll commits (`save_feed_state(s)`), when the worker
    gives it back (`release_leases`), or when it runs out (the worker died)."""

    def lease_due_feeds(
        self, feed_ids: Iterable[str], lease: Lease, now: datetime, limit: int | None = None
    ) -> list[str]:
        """Of `feed_ids`, those due at `now` (next_due unset or <= now) and not under another
        worker's live lease (lease_until > now), leased to `lease.owner` (the worker) until
        now + `lease.seconds`; sorted. A lease the worker already holds is renewed; an expired
        one of any worker is taken over. Two concurrent callers never get the same feed. With
        `limit`, at most that many: the worker's own leases first, then the longest due
        (never polled first), then by id, so a worker's share of a backlog moves in order."""
        ...

    def release_leases(self, worker: str) -> None:
        """End every lease `worker` holds, on feeds (others may poll them now) and on alert
        claims in 'sending' (each is an expired claim now, re-offered by the next delivery to
        its sink, which first asks the sink what it already holds). For a worker that sends
        nothing any more: its cycle failed, or it died. A claim left to run out instead would
        be renewed by each later cycle of a worker that lives on (`renew_leases`)."""
        ...

    def renew_leases(self, worker: str, until: datetime) -> None:
        """Extend every live lease `worker` holds (feeds, and alert claims in 'sending') to
        `until`: a worker that is alive keeps what it is working on however long a cycle
        takes; only a dead worker's leases run out."""
        ...

    def heartbeat(self, worker: str, host: str, pid: int) -> None:
        """Record that `worker` (process `pid` on `host`) is alive now; the first beat sets
        its start time, later beats keep it."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """Every worker that beat, latest heartbeat first, each with the feeds it holds a
        live lease on (at the store's clock)."""
        ...

    def acquire_owner(self, worker: str) -> None:
        """Make this process the store's one delivering owner, for the store object's life
        (released by close(), or when the process ends however it ends). Raises StoreBusy,
        naming the holder's pid and host, when another process owns it. Only processes that
        deliver call it (the watch loop, run --once, redeliver); helper processes of the owner
        (Beam workers) open the store without it, so opening never takes it. A backend whose
        stores are shared by design (PostgreSQL: leases decide) accepts every caller."""
        ...


class DeadLetterStore(Protocol):
    """Records that failed a stage, kept for `redeliver` and for people."""

    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        """Append many in one transaction."""
        ...

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The latest `limit`, newest first."""
        ...


class SinkHealthStore(Protocol):
    """Each sink's health (SinkHealth), so every worker skips a sink that is down and a restart
    remembers it. Advisory: exactly-once comes from the ledger's claims, never from here."""

    def sink_health(self, sink: str) -> SinkHealth:
        """The saved health, or a healthy SinkHealth(sink) for a sink never saved."""
        ...

    def save_sink_health(self, health: SinkHealth) -> None:
        """Upsert; the last writer wins (two workers that fail together write one failure)."""
        ...


def dead_letter_alert_key(letter: DeadLetter) -> str | None:
    """The ledger key a delivery dead letter is about (the dispatcher puts it in `detail`), so a
    later successful send of that alert can resolve it; None for other stages."""
    return letter.detail or None if letter.stage == "deliver" else None


class Retention(NamedTuple):
    """How many days each table keeps a row (`prune`). A ledger key must outlive the seen key of
    its article: once the seen key is gone the article can come back, and only the ledger then
    stops its alert from going out again; so the ledger keeps a row at least `seen_days`
    whatever `ledger_days` says (`ledger_keep_days`). A worker's row (`heartbeat`) goes
    `worker_days` after its last beat, unless it still holds a live lease: a live worker beats
    every few seconds, and `lease_seconds` is at most a day, so only stopped workers go."""

    seen_days: float
    ledger_days: float
    dead_letter_days: float
    group_days: float
    worker_days: float = 7.0

    @property
    def ledger_keep_days(self) -> float:
        return max(self.ledger_days, self.seen_days)


class RetentionStore(Protocol):
    """What keeps the tables bounded: the watch loop prunes once an hour."""

    def prune(self, now: datetime, retention: Retention) -> dict[str, int]:
        """In one transaction, delete what is older than its retention at `now`: seen keys
        (`seen_days`); dead letters, resolved or not (`dead_letter_days`); ledger rows that
        are final, last updated before `ledger_keep_days` ('sent', or 'dead' with no unresolved
        dead letter left; never 'sending' or 'held'); story alerts whose ledger row is gone;
        groups not saved for `group_days` with no due time and no held alert
        workers whose last heartbeat is older than `worker_days` and who hold no live feed
        lease or alert claim (rows.prune_steps). Returns how many rows went per table:
        {"seen", "dead_letters", "alerts", "story_alerts", "groups", "workers"}."""
        ...


@runtime_checkable
class StateStore(
    FeedStore,
    SeenStore,
    LedgerStore,
    GroupStore,
    StoryStore,
    WorkerStore,
    DeadLetterStore,
    RetentionStore,
    SinkHealthStore,
    Protocol,
):
    """Everything that must survive a restart. Open with `open_store(location)`; cheap to open,
    so open one per DoFn in setup() and close it in teardown()."""

    location: str
    """Where the store lives, for people (a file path, a URL without its password)."""

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of writes (see the module docstring for nesting)."""
        ...

    def now(self) -> datetime:
        """The store's clock (aware, UTC): what its leases, heartbeats and stamps are timed by.
        Anything compared with them (a lease's end, a digest's due time, "since") reads this."""
        ...

    def counts(self) -> dict[str, int]:
        """Schema version, feeds, seen keys, dead letters (all, and `dead_letters_resolved`),
        alerts per status (`alerts_<status>`), and `alerts_dead_deferred`: the dead alerts that
        only wait for their sink (resent by themselves once it is back), for `wirewatch
        state`."""
        ...

    def close(self) -> None:
        """Release the connection(s); closing twice is harmless."""
        ...

    def __enter__(self) -> StateStore: ...

    def __exit__(self, *exc: object) -> None: ...

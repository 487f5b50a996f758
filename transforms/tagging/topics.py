"""Score topics: a classifier for the top-level topics it knows, corroborated term evidence.

Evidence. Per topic, each distinct term contributes `weight * tf * (k + 1) / (tf + k)` where
`tf` counts title hits `title_weight` times and body hits `body_weight` times (BM25's
saturation: the tenth "goal" adds little over the third). A child topic's evidence also counts
for its ancestors. The raw sum is squashed to 0..1 with `1 - exp(-raw / saturation)`.

Corroboration. One word is not a topic: "won" is a currency, "faith" an investor's, "band" an
exchange-rate range. A topic's *cues* are the distinct terms weighted 1 or more that fired for
it (a term inside a longer one that also fired, "military" in "military force", is the same
cue; a down-weighted term such as "game^0.6" only supports); with fewer than
`MIN_CUES` cues a score is scaled by `cues / MIN_CUES`, so one word alone stays below the
threshold.

Classifier. The top-level topics the shipped model (`topic_model.py`) knows (economy, politics,
sport, science-technology, arts-culture-entertainment) score the geometric mean of the model's
calibrated probability and the evidence squash, still scaled by corroboration: both must agree.
A business story full of "won", "beat" and "points" is not sport, because the model says
business (p ~ 0.01 vetoes it); a two-line item the model knows little about (p near its 0.2
prior) is decided by its evidence, at most ~0.45.
A child never scores above its parent (P(immigration) <= P(politics)), so the classifier's
verdict reaches `football` and `film` too. Every tag keeps the words that fired, strongest
first, and `explain()` gives the whole decision for `wirewatch tag --explain`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from wirewatch.transforms.model import TopicTag
from wirewatch.transforms.tagging import topic_model
from wirewatch.transforms.tagging.schema import TaggingSettings, TopicConfig
from wirewatch.transforms.tagging.text import Prepared, key
from wirewatch.transforms.tagging.trusted import trusted

_K = 1.2
_EVIDENCE = 8
MIN_CUES = 2
STRONG_WEIGHT = 1.0  # terms weighted below the default are supporting evidence, never a cue
STANDALONE_WEIGHT = 3.0  # a term this specific ("tariffs", "ceasefire") can stand alone ...
SHORT_WORDS = 60  # ... in a headline, or in a text this short (a headline and its lead)
FULL_SAY = 40  # known tokens from which the classifier has its full say (see decide)


@dataclass(frozen=True)
class Term:
    topic: int
    weight: float
    text: str  # as configured, for messages
    key: str  # folded, without the trailing '*' (a prefix term's key ends with '*')
    prefix: bool


@dataclass
class TermCounts:
    """What one article's text gave the scorer, per term group (the terms that share a pattern,
    see `TopicScorer.groups`): weighted hit counts, for prefix groups the first word they
    matched (shown as evidence instead of `deport*`), and the groups hit in the title."""

    tf: dict[int, float] = field(default_factory=dict)
    words: dict[int, str] = field(default_factory=dict)
    text: str = ""  # the folded article text, for the classifier
    in_title: set[int] = field(default_factory=set)  # term groups hit in the title
    _contributions: tuple | None = None  # cached by TopicScorer.contributions
    _cues: tuple | None = None  # cached by TopicScorer.contributions
    _short: bool | None = None  # cached by TopicScorer._short


class Decision(NamedTuple):
    """Why a topic scored what it did: what `tag --explain` prints."""

    topic: int
    score: float
    evidence: float  # the squashed term evidence, 0..1
    probability: float | None  # the classifier's, for the topics it decides
    cues: tuple[str, ...]  # distinct terms that fired, strongest first (explain only)
    words: tuple[str, ...]  # every word that fired for it, strongest first: the evidence
    capped_by: int | None  # the ancestor whose lower score capped this one


class TopicScorer:
    def __init__(
        self,
        topics: list[TopicConfig],
        settings: TaggingSettings,
        model: topic_model.TopicModel | None | bool = True,
    ):
        """`model`: True for the shipped classifier, a TopicModel, or None/False for none."""
        self.topics = list(topics)
        self.settings = settings
        index = {t.id: i for i, t in enumerate(self.topics)}
        self.lineage: list[tuple[int, ...]] = []
        for topic in self.topics:
            chain, seen, parent = [index[topic.id]], {topic.id}, topic.parent
            while parent and parent in index and parent not in seen:
                chain.append(index[parent])
                seen.add(parent)
                parent = self.topics[index[parent]].parent
            self.lineage.append(tuple(chain))
        self.thresholds = [
            t.threshold if t.threshold is not None else settings.threshold for t in self.topics
        ]
        self.terms: list[Term] = []
        for i, topic in enumerate(self.topics):
            for term in topic.weighted_terms():
                text = term.term.strip()
                folded = key(text.rstrip("*"))
                if folded:
                    prefix = text.endswith("*")
                    self.terms.append(Term(i, term.weight, text, folded + "*" * prefix, prefix))
        # Terms written alike (the same folded word, prefix or not) form one group: the
        # matcher finds the group's pattern once, and an article is counted per group.
        group_of: dict[tuple[str, bool], int] = {}
        members: list[list[int]] = []
        for tid, term in enumerate(self.terms):
            group = group_of.setdefault((term.key.rstrip("*"), term.prefix), len(members))
            if group == len(members):
                members.append([])
            members[group].append(tid)
        self.groups: list[tuple[str, bool]] = list(group_of)  # (folded key, prefix) per group
        self._group_of = [group_of[term.key.rstrip("*"), term.prefix] for term in self.terms]
        # Per group, whether it is a prefix term (an index is cheaper than a set look-up).
        self._prefixed = tuple(prefix for _, prefix in self.groups)
        # Where each term's evidence goes: straight into a topic's sum, or, where the same word
        # is also listed lower in that topic's tree, through a max (see contributions()).
        holders: dict[tuple[int, str], int] = {}
        for term in self.terms:
            for target in self.lineage[term.topic]:
                holders[target, term.key] = holders.get((target, term.key), 0) + 1
        # Per term id, the key it counts as a cue under, and (that key, its text) as the
        # evidence shows it; None for a prefix term, shown as the word it matched.
        self._cue_keys = [term.key.rstrip("*") for term in self.terms]
        self._shown = [
            None if term.prefix else (cue_key, term.text)
            for term, cue_key in zip(self.terms, self._cue_keys)
        ]
        # Per group, looked up once per article: for each of its terms (id, weight, topics its
        # evidence goes straight into, (topic, key) slots it reaches through a max, the topics
        # it is a cue for (none for a term weighted below 1), its cue key, whether it can
        # stand alone). Most terms are a cue for exactly the topics their evidence goes
        # straight into: then `cued` is `plain` itself, and one loop does both.
        spread: list[tuple] = []
        for tid, term in enumerate(self.terms):
            targets = self.lineage[term.topic]
            shared = tuple((t, term.key) for t in targets if holders[t, term.key] > 1)
            plain = tuple(t for t in targets if (t, term.key) not in shared)
            cued = targets if term.weight >= STRONG_WEIGHT else ()
            if cued and cued == plain and not shared:
                cued = plain
            alone = term.weight >= STANDALONE_WEIGHT
            spread.append((tid, term.weight, plain, shared, cued, self._cue_keys[tid], alone))
        self._group_spread = [tuple(spread[tid] for tid in tids) for tids in members]
        # Per topic, its terms (those whose evidence it is shown with).
        mine: list[set[int]] = [set() for _ in self.topics]
        for tid, term in enumerate(self.terms):
            for target in self.lineage[term.topic]:
                mine[target].add(tid)
        self._terms_of = [frozenset(tids) for tids in mine]
        # No topic scores below this and is emitted: score() leaves out the topics whose
        # score cannot reach it (a child is capped by its parent's score).
        self._floor = min(self.thresholds, default=0.0)
        if model is True:
            model = topic_model.load()
        self.model = model or None
        # The top-level topics the classifier decides (index -> its topic id).
        self.decided: dict[int, str] = {}
        if self.model is not None:
            for i, topic in enumerate(self.topics):
                if topic.parent is None and topic.id in self.model.topics:
                    self.decided[i] = topic.id
        # Parents before children, for the cap.
        self._depth = [len(chain) for chain in self.lineage]
        self._ancestors = [chain[1:] for chain in self.lineage]

    def count(self, text: Prepared, hits: list) -> TermCounts:
        """The term groups' counts for the matcher's term hits (start, end, group)."""
        counts = TermCounts(text=text.folded)
        tf, words, in_title = counts.tf, counts.words, counts.in_title
        title_end, prefixed, folded, get = text.title_end, self._prefixed, text.folded, tf.get
        title_weight, body_weight = self.settings.title_weight, self.settings.body_weight
        for start, end, group in hits:
            if start < title_end:
                tf[group] = get(group, 0.0) + title_weight
                in_title.add(group)
            else:
                tf[group] = get(group, 0.0) + body_weight
            if prefixed[group] and group not in words:
                # the word a prefix term matched, shown instead of `deport*`
                stop = folded.find(" ", end)
                words[group] = folded[start : stop if stop >= 0 else len(folded)]
        return counts

    def contributions(self, counts: TermCounts) -> tuple[dict[int, float], dict[int, float]]:
        """(per term id, per topic with ancestors) raw evidence; computed once per article,
        in the same pass as the cues (see _cues)."""
        if counts._contributions is not None:
            return counts._contributions
        per_term: dict[int, float] = {}
        per_topic: dict[int, float] = {}
        best: dict[tuple[int, str], float] = {}
        strong: defaultdict[int, list[str]] = defaultdict(list)
        standalone: set[int] = set()
        spread, k1, words = self._group_spread, _K + 1, counts.words
        in_title, short = counts.in_title, None  # short: looked at once, when it matters
        for group, count in counts.tf.items():
            word = words.get(group)  # a prefix term's cue is the word it matched
            for tid, weight, plain, shared, cued, cue, alone in spread[group]:
                per_term[tid] = value = weight * count * k1 / (count + _K)
                # The usual term: a cue where its evidence goes, no max. (An empty `cued`
                # is the very same empty tuple as an empty `plain`: hence `not shared`.)
                if cued is plain and not shared:
                    cue = word or cue
                    for target in plain:
                        per_topic[target] = per_topic.get(target, 0.0) + value
                        strong[target].append(cue)  # repeats are left to the readers
                else:
                    for target in plain:
                        per_topic[target] = per_topic.get(target, 0.0) + value
                    # A word listed by a topic and by its child (or by two children) counts
                    # once for the topic they share, at its highest weight: no double
                    # counting up the tree.
                    for slot in shared:
                        if value > best.get(slot, 0.0):
                            best[slot] = value
                    if not cued:
                        continue
                    cue = word or cue
                    for target in cued:
                        strong[target].append(cue)
                if not alone:
                    continue
                if short is None and group not in in_title:
                    short = self._short(counts)
                if short or group in in_title:
                    standalone.update(cued)
        for (target, _), value in best.items():
            per_topic[target] = per_topic.get(target, 0.0) + value
        counts._contributions = (per_term, per_topic)
        counts._cues = (strong, standalone)
        return per_term, per_topic

    def best(self, counts: TermCounts) -> int | None:
        """The index of the topic with the most evidence, or None."""
        per_topic = self.contributions(counts)[1]
        if not per_topic:
            return None
        top = max(per_topic, key=per_topic.get)
        return top if per_topic[top] > 0 else None

    def raw(self, counts: TermCounts) -> dict[str, float]:
        """Topic id -> raw evidence (children included): what evaluations rank by."""
        return {self.topics[t].id: v for t, v in self.contributions(counts)[1].items()}

    def _cues(self, counts: TermCounts) -> tuple[dict[int, list[str]], set[int]]:
        """Per topic, the cue words of its terms weighted at least 1 (the ones that can
        corroborate), in the order they fired (a word fired by two terms is there twice:
        `_count_cues` does not mind, `_distinct` drops it), and the topics a standalone term
        fired for (in the title, or in a short text)."""
        self.contributions(counts)
        return counts._cues

    @staticmethod
    def _short(counts: TermCounts) -> bool:
        """Whether the text has fewer than SHORT_WORDS words (a headline and its lead)."""
        if counts._short is None:
            # maxsplit: only whether there are SHORT_WORDS words, not how many
            counts._short = len(counts.text.split(None, SHORT_WORDS)) < SHORT_WORDS
        return counts._short

    def _words(
        self, counts: TermCounts, wanted: set[int], most: int | None = None
    ) -> dict[int, tuple[str, ...]]:
        """The words that fired for each wanted topic, strongest first (a stable sort: ties
        keep text order, so it is deterministic); a prefix term shows the word it matched.
        With `most`, a topic's list stops at that many distinct words (what a tag shows)."""
        per_term = self.contributions(counts)[0]
        ranked = sorted(per_term, key=per_term.__getitem__, reverse=True)
        shown, words, group_of = self._shown, counts.words, self._group_of
        found: dict[int, tuple[str, ...]] = {}
        for topic in wanted:
            bucket: dict[str, str] = {}
            for tid in filter(self._terms_of[topic].__contains__, ranked):  # its terms
                if per_term[tid] <= 0:
                    break
                cue, text = shown[tid] or (words[group_of[tid]],) * 2
                if cue not in bucket:
                    bucket[cue] = text
                    if (
                        most is not None
                        and len(bucket) >= most
                        and len(set(bucket.values())) >= most
                    ):
                        break
            if bucket:
                found[topic] = tuple(bucket.values())
        return found

    def decide(self, counts: TermCounts, explain: bool = False) -> list[Decision]:
        """Every topic with some evidence, with its score and why; strongest first. The words
        that fired are listed for the topics that pass their threshold, and with `explain`
        for every topic, with its distinct cues too (slower: the scores do not need them)."""
        made = self._scored(counts, explain)
        thresholds = self.thresholds
        wanted = {m[0] for m in made if explain or (m[1] > 0 and m[1] >= thresholds[m[0]])}
        words = self._words(counts, wanted) if wanted else {}
        decisions = [
            Decision(topic, score, evidence, probability, cues, words.get(topic, ()), capped_by)
            for topic, score, evidence, probability, cues, capped_by in made
        ]
        return sorted(decisions, key=lambda d: (-d.score, self.topics[d.topic].id))

    def _scored(self, counts: TermCounts, explain: bool, floor: float = 0.0) -> list[tuple]:
        """(topic, score, evidence, probability, shown cues, capped_by) for every topic with
        some evidence, parents before children: what `decide` reports, without the words.

        With a `floor`, a topic whose score cannot reach it (its base, or an ancestor's
        score, is lower) is left out without counting its cues: `score` asks for the topics
        that can pass a threshold, and none is lower than the lowest threshold."""
        per_topic = self.contributions(counts)[1]
        if not per_topic:
            return []
        saturation = self.settings.saturation
        strong, standalone = counts._cues  # set by contributions()
        probabilities, say = {}, 0.0
        if self.model is not None and self.decided:
            probabilities, known = self.model.predict(counts.text)
            say = 0.5 * min(1.0, known / FULL_SAY)
        scores: dict[int, float] = {}
        made: list[tuple] = []
        depth, ancestors, exp = self._depth, self._ancestors, math.exp
        probability_of = {i: probabilities.get(t) for i, t in self.decided.items()}
        rest = 1.0 - say
        for topic in sorted(per_topic, key=depth.__getitem__):
            raw = per_topic[topic]
            if raw <= 0:
                continue
            evidence = 1.0 - exp(-raw / saturation)
            probability = probability_of.get(topic)
            # Both must agree: a probability near the prior (a text the model knows little
            # of) leaves the decision to the evidence; a confident "no" vetoes it. The model
            # has its full say (the geometric mean) from FULL_SAY known tokens on; on a
            # headline it saw a handful of words, and a normalised TF-IDF vector of five
            # words is as "confident" as one of five hundred ("Win" + "Election": sport), so
            # its weight shrinks with the words it saw and the term evidence decides.
            base = evidence if probability is None else probability**say * evidence**rest
            if floor:
                bound = base
                for ancestor in ancestors[topic]:
                    ceiling = scores.get(ancestor, 0.0)
                    if ceiling < bound:
                        bound = ceiling
                if bound < floor:
                    scores[topic] = bound  # no lower than its score: what caps its children
                    continue
            corroborating = strong.get(topic, ())
            # The classifier's agreement is no second cue: on a headline its confidence
            # comes from the same word ("A film shows ..." is 0.77 arts).
            if topic in standalone:
                cues = MIN_CUES
            elif len(corroborating) < 2:  # _count_cues' answer, without the call
                cues = len(corroborating)
            else:
                cues = _count_cues(corroborating)
            score = base if cues >= MIN_CUES else base * (cues / MIN_CUES)
            capped_by = None
            for ancestor in ancestors[topic]:
                ceiling = scores.get(ancestor, 0.0)
                if ceiling < score:
                    score, capped_by = ceiling, ancestor
            scores[topic] = score
            shown_cues = _distinct(corroborating) if explain else ()
            made.append((topic, score, evidence, probability, shown_cues, capped_by))
        return made

    def score(self, counts: TermCounts) -> list[TopicTag]:
        """The emitted topics: what `decide` passes, strongest first, at most `max_topics`
        (the words that fired are looked up for those alone)."""
        thresholds, topics = self.thresholds, self.topics
        kept = [
            m
            for m in self._scored(counts, False, self._floor)
            if m[1] > 0 and m[1] >= thresholds[m[0]]
        ]
        if not kept:
            return []
        kept.sort(key=lambda m: (-m[1], topics[m[0]].id))
        del kept[self.settings.max_topics :]
        words = self._words(counts, {m[0] for m in kept}, _EVIDENCE)
        return [
            trusted(  # from the validated taxonomy: no second check
                TopicTag,
                {
                    "id": topics[topic].id,
                    "label": topics[topic].label,
                    "score": round(score, 4),
                    "evidence": tuple(dict.fromkeys(words.get(topic, ())))[:_EVIDENCE],
                },
            )
            for topic, score, *_ in kept
        ]


def _count_cues(bucket) -> int:
    """min(distinct cues, MIN_CUES) without the quadratic check: there is one cue exactly when
    the longest word contains every other ("military" inside "military force"; a word fired
    twice contains itself)."""
    if len(bucket) < 2:
        return len(bucket)
    longest = " " + max(bucket, key=len) + " "
    for word in bucket:
        if f" {word} " not in longest:
            return MIN_CUES
    return 1


def _distinct(bucket) -> tuple[str, ...]:
    """The cues of a topic: its words once each, less those inside a longer word that also
    fired."""
    bucket = list(dict.fromkeys(bucket))
    padded = [f" {w} " for w in bucket]
    return tuple(w for w, p in zip(bucket, padded) if not any(p in o and p != o for o in padded))

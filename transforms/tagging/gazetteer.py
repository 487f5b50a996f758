"""Compile the gazetteer (EntityConfig list) into alias references keyed by folded text.

Each alias carries how it may be trusted:
- kind: `name`/`alias`/`demonym` name the entity outright; `ambiguous` needs a full mention or a
  context word; `partial` is a person's surname ("Kelly", "Osorio Chong"), which only counts
  after the article has named that person in full.
- check: `any` (multi-word names: specific enough in any case), `capital` (single words must be
  capitalized, so "turkey" the bird or "chad" the verb is not a country), `exact` (short
  acronyms: "US" is the country, "us" is a pronoun). A one-word alias written with accents
  whose accent-free spelling is an everyday word (`Salé`, `Réunion`, `Nestlé`) is `accented`:
  spelled without the accents it is trusted only where a capital means a name (mid-sentence
  in mixed-case body text), never in "the sale would" or "Family Reunion".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from wirewatch.transforms.tagging.schema import EntityConfig
from wirewatch.transforms.tagging.text import alnum, is_acronym, key

_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
# Accent-free spellings of accented one-word names that are everyday English words.
_PLAIN_WORDS = frozenset(
    """sale hue reunion honcho nestle resume cafe expose pate ole rose mate sake abbe fiance
saute cliche protege decor""".split()
)
_PARTICLES = {"de", "da", "del", "der", "van", "von", "la", "le", "di", "bin", "al", "el"}


@dataclass(frozen=True)
class EntityInfo:
    id: str
    name: str
    type: str
    wikidata: str | None
    subtype: str | None = None
    capital_of: str | None = None


@dataclass(frozen=True)
class AliasRef:
    entity: int
    kind: str  # name | alias | demonym | ambiguous | partial
    check: str  # any | capital | exact
    form: str  # the alphanumerics of the alias as written, for `exact`
    dotted: bool = False  # the alias ends with "." (U.S.): the mention keeps the final dot
    single: bool = False  # one word (Jordan, Van): may be part of a longer name
    accented: bool = False  # Salé: without its accents an everyday word, see passes_case


STRONG_KINDS = frozenset({"name", "alias", "demonym"})


@dataclass(frozen=True)
class Gazetteer:
    entities: tuple[EntityInfo, ...]
    aliases: dict[str, tuple[AliasRef, ...]]  # folded key -> refs
    context: dict[str, tuple[int, ...]]  # folded context word -> entities it supports

    @property
    def alias_count(self) -> int:
        return sum(len(refs) for refs in self.aliases.values())


def surname_forms(name: str) -> list[str]:
    """Trailing parts of a person's name that news text uses alone after a first full mention.

    "Miguel Angel Osorio Chong" -> ["Angel Osorio Chong", "Osorio Chong", "Chong"]. A form that
    starts with a particle keeps it ("de la Fuente"), a bare particle is never a form.
    """
    tokens = name.split()
    while len(tokens) > 1 and key(tokens[-1]) in _NAME_SUFFIXES:
        tokens.pop()
    forms = []
    for i in range(1, len(tokens)):
        if tokens[i - 1].lower() in _PARTICLES:
            continue
        rest = tokens[i:]
        if len(rest) == 1 and rest[0].lower() in _PARTICLES:
            continue
        forms.append(" ".join(rest))
    return forms


def _check_for(alias: str) -> str:
    if is_acronym(alias):
        return "exact"
    return "capital" if len(key(alias).split()) == 1 else "any"


def compile_gazetteer(entries: list[EntityConfig]) -> Gazetteer:
    entities = []
    aliases: dict[str, dict[tuple[int, str], AliasRef]] = defaultdict(dict)
    context: dict[str, set[int]] = defaultdict(set)

    def add(index: int, alias: str, kind: str) -> None:
        k = key(alias)
        if not k:
            return
        check = _check_for(alias)
        existing = aliases[k].get((index, check))
        single = " " not in k
        # Accents are required only when no listed spelling of this name goes without them.
        accented = (
            single
            and not alias.isascii()
            and k in _PLAIN_WORDS
            and (existing is None or existing.accented)
        )
        rank = ("name", "alias", "demonym", "ambiguous", "partial")
        if existing is None or rank.index(kind) < rank.index(existing.kind):
            aliases[k][(index, check)] = AliasRef(
                index, kind, check, alnum(alias), alias.rstrip().endswith("."), single, accented
            )
        elif existing.accented and not accented:
            aliases[k][(index, check)] = replace(existing, accented=False)

    for index, entry in enumerate(entries):
        entities.append(
            EntityInfo(
                entry.id, entry.name, entry.type, entry.wikidata, entry.subtype, entry.capital_of
            )
        )
        ambiguous = {key(a) for a in entry.ambiguous}
        add(index, entry.name, "ambiguous" if key(entry.name) in ambiguous else "name")
        for alias in entry.aliases:
            add(index, alias, "ambiguous" if key(alias) in ambiguous else "alias")
        for alias in entry.ambiguous:
            add(index, alias, "ambiguous")
        for demonym in entry.demonyms:
            add(index, demonym, "demonym")
        if entry.type == "PERSON":
            for form in surname_forms(entry.name):
                add(index, form, "partial")
        for word in entry.context:
            if key(word):
                context[key(word)].add(index)
    return Gazetteer(
        entities=tuple(entities),
        aliases={k: tuple(v.values()) for k, v in aliases.items()},
        context={k: tuple(sorted(v)) for k, v in context.items()},
    )

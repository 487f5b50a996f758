"""Config models for the taxonomy (topics), the gazetteer (entities) and the tagging settings.

These are plain data: they travel to Beam workers inside `Config`, and each worker compiles them
once (see `tagger.Tagger.from_config`). Unknown keys are errors, so a typo cannot silently turn a
topic or an alias off.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopicTerm(_Strict):
    """A term with its own weight. `term*` matches any word starting with `term` (elect*)."""

    term: str = Field(min_length=1, description="a word or phrase; `term*` is a prefix")
    weight: float = Field(default=1.0, description="how much one occurrence counts")


class TopicConfig(_Strict):
    """One topic. Terms are matched case- and accent-insensitively on word boundaries.

    A plain string term has weight 1.0. A child topic (`parent`) also lends its score to its
    ancestors, so `topic:politics` is found on an article that only talks about elections.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="what topic: queries name")
    label: str = Field(description="the topic's name, shown in alerts and `wirewatch tag`")
    iptc: str | None = Field(default=None, description="the IPTC Media Topic code, if any")
    parent: str | None = Field(default=None, description="id of the broader topic")
    terms: list[str | TopicTerm] = Field(
        default_factory=list, description='words that count for the topic ("shares^2": weight 2)'
    )
    threshold: float | None = Field(
        default=None, description="minimum score (0..1) for this topic; default: tagging.threshold"
    )

    @field_validator("terms")
    @classmethod
    def _parse_terms(cls, terms: list) -> list:
        for term in terms:
            if isinstance(term, str):
                _split_weight(term)
        return terms

    def weighted_terms(self) -> list[TopicTerm]:
        """Terms as TopicTerm; a string may carry its weight after a caret: "shares^2"."""
        out = []
        for term in self.terms:
            if isinstance(term, TopicTerm):
                out.append(term)
            else:
                text, weight = _split_weight(term)
                out.append(TopicTerm(term=text, weight=weight))
        return out


def _split_weight(term: str) -> tuple[str, float]:
    text, caret, weight = term.rpartition("^")
    if not caret:
        return term, 1.0
    try:
        value = float(weight)
    except ValueError:
        raise ValueError(
            f"term '{term}': the part after '^' must be a number (weight). "
            f"Fix: write '{text}^2' or use {{term: ..., weight: ...}}"
        ) from None
    if not text.strip():
        raise ValueError(f"term '{term}' is empty before '^'. Fix: write 'word^{weight}'")
    return text, value


class EntityConfig(_Strict):
    """One gazetteer entry: a canonical id and the names that refer to it.

    `aliases` are other names (any case, accents optional). `demonyms` are adjectival forms
    ("Mexican") that also point at the entity but are not names of it. `ambiguous` aliases
    count only when the article also names the entity unambiguously or contains one of its
    `context` words ("Georgia" the US state needs "Atlanta" or "Georgia state").
    `capital_of` (a country's id) lets "Washington said" or "sanctioned by Beijing" name the
    government, that is the country, rather than the city.
    """

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", description="what entity: queries name"
    )
    name: str = Field(description="the canonical name")
    type: str = Field(pattern=r"^[A-Z][A-Z_]*$", description="PERSON, ORG, PLACE, ...")
    aliases: list[str] = Field(default_factory=list, description="other names of it")
    demonyms: list[str] = Field(
        default_factory=list, description="adjectival forms that point at it (Mexican)"
    )
    ambiguous: list[str] = Field(
        default_factory=list, description="aliases that count only with the entity's context"
    )
    context: list[str] = Field(
        default_factory=list, description="words that confirm an ambiguous alias"
    )
    subtype: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="finer kind: country, city, us-state, region, ...",
    )
    wikidata: str | None = Field(
        default=None, pattern=r"^Q[0-9]+$", description="Wikidata id (Q...)"
    )
    capital_of: str | None = Field(
        default=None,
        description="id of the country whose government this capital stands for in news text",
    )


class NerSettings(_Strict):
    """Optional statistical NER (spaCy; `pip install wirewatch[ner]`)."""

    enabled: bool = Field(default=False, description="tag with the NER model too")
    model: str = Field(
        default="builtin",
        description="'builtin' (the news model shipped with wirewatch), or an installed spaCy "
        "pipeline package name or path",
    )
    max_chars: int = Field(default=20000, ge=100, description="text beyond this is not NER-tagged")


class TaggingSettings(_Strict):
    """How topic scores are computed and which topics are kept."""

    title_weight: float = Field(default=2.0, ge=0, description="weight of a term in the title")
    body_weight: float = Field(default=1.0, ge=0, description="weight of a term in the text")
    threshold: float = Field(
        default=0.35, ge=0, le=1, description="minimum topic score (0..1) to tag an article"
    )
    max_topics: int = Field(default=6, ge=1, description="topics kept per article, best first")
    saturation: float = Field(
        default=5.0, gt=0, description="raw evidence at which a topic scores about 0.63"
    )
    club_topic: str | None = Field(
        default="sport",
        description="in articles about this topic, a city followed by a score "
        "is the club named after it (ORG), not the place",
    )
    ner: NerSettings = Field(
        default_factory=NerSettings, description="optional statistical NER (spaCy)"
    )

    @field_validator("body_weight")
    @classmethod
    def _some_weight(cls, value: float, info) -> float:
        if value == 0 and info.data.get("title_weight", 0) == 0:
            raise ValueError("title_weight and body_weight cannot both be 0. Fix: set one above 0")
        return value

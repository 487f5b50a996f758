"""What a statistical model finds that a rule must not see: titles and credit lines.

A model trained on CoNLL-2003 tags names, but wire copy has two patterns that look like names
and are not entities for an alert rule:
- job titles: "Secretary of State", "Interior Minister", "Minister of the Interior" (the model
  calls "State" or "Interior" an organisation); "State Department" and "Interior Ministry" stay;
- credit lines and bylines: "(Reporting by Jeff Mason; Editing by Chizu Nomiyama)", "By Jane
  Doe": the reporters are people, but not the news (nor is "Reporting" an organisation); the
  places in them stay, as the gazetteer finds them anyway.

Pure functions over the prepared text and (start, end, type) spans.
"""

from __future__ import annotations

import re

_TITLE = (
    r"(?:(?:vice|deputy|prime|under|assistant|acting|chief|first)[- ]?)?"
    r"(?:minister|secretary|secretary-general|chancellor|president|governor|ambassador|envoy|"
    r"senator|spokesman|spokeswoman|spokesperson|commissioner|prosecutor|premier|mayor|"
    r"attorney[- ]general|undersecretary|director|chief|chairman|chairwoman|head)"
)
_PORTFOLIO = {
    "state", "interior", "foreign", "defence", "defense", "finance", "justice", "health",
    "home", "labour", "labor", "trade", "commerce", "energy", "education", "agriculture",
    "transport", "transportation", "treasury", "environment", "economy", "economic",
    "industry", "exchequer", "homeland", "security", "affairs", "internal", "public",
    "information", "culture", "housing", "oil", "war", "navy", "army", "the", "and", "of",
}  # fmt: skip
_ENDS_IN_TITLE = re.compile(rf"\b{_TITLE}$", re.I)
_TITLE_OF = re.compile(rf"^{_TITLE}\s+(?:of|for)\s", re.I)
_TITLE_FOLLOWS = re.compile(rf"^\s+{_TITLE}\b", re.I)
_TITLE_OF_BEFORE = re.compile(rf"\b{_TITLE}\s+(?:of|for)\s+(?:the\s+)?$", re.I)
_CREDIT = re.compile(
    r"\b(?:(?:additional|further)\s+)?(?:reporting|editing|writing|compiled|graphics|photos?)"
    r"\s+by\s",
    re.I,
)
_CREDIT_WORDS = {"and", "in", "by", "from", "additional", "further", "reporting", "editing"}
_CREDIT_WORDS |= {"writing", "compiled", "graphics", "photo", "photos", "de", "van", "von"}
_CREDIT_WORDS |= {"der", "al", "bin", "da", "dos", "del", "la", "le"}
_WORD = re.compile(r"[^\s;,()&]+")
# "By Jane Doe and John Roe" at the start of the title or the body.
_BYLINE = re.compile(r"(?:^\s*|\|\s+)By\s")


def credit_regions(text: str) -> list[tuple[int, int]]:
    """Character ranges of credit lines: "Reporting by" (capitalised, or after "(", ";", ",")
    or a leading "By", then names, places and connectives up to the first other word, a
    closing parenthesis or a full stop."""
    regions = []
    for match in _BYLINE.finditer(text):
        regions.append((match.start(), _names_end(text, match.end())))
    for match in _CREDIT.finditer(text):
        before = text[: match.start()].rstrip()[-1:]
        if text[match.start()].isupper() or before in ("(", ";", ",", "|"):
            regions.append((match.start(), _names_end(text, match.end())))
    return regions


def _names_end(text: str, pos: int) -> int:
    for word in _WORD.finditer(text, pos):
        gap = text[pos : word.start()]
        if ")" in gap:
            return pos
        token = word.group()
        if not (token[0].isupper() or token.lower().rstrip(".") in _CREDIT_WORDS):
            return pos
        if token.endswith(".") and len(token) > 2 and not token[:-1].replace(".", "").isupper():
            return word.end() - 1  # the sentence ends; "F." and "U.S." do not end it
        pos = word.end()
    return pos


def is_title(text: str, start: int, end: int) -> bool:
    """True when the span is a job title or the portfolio part of one."""
    surface = text[start:end]
    if _ENDS_IN_TITLE.search(surface) or _TITLE_OF.match(surface):
        return True
    words = surface.lower().replace("-", " ").split()
    if not words or any(w not in _PORTFOLIO for w in words):
        return False
    return bool(_TITLE_FOLLOWS.match(text[end:]) or _TITLE_OF_BEFORE.search(text[:start]))


def keep(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The spans that are entities a rule should see."""
    credits = credit_regions(text) if "by " in text.lower() else []
    out = []
    for start, end, kind in spans:
        if kind in ("ORG", "PERSON") and is_title(text, start, end):
            continue
        if kind != "PLACE" and any(s <= start and end <= e for s, e in credits):
            continue
        out.append((start, end, kind))
    return out

"""Titles and credit lines are not entities (transforms/tagging/ner_filters.py; no spaCy)."""

import pytest

from wirewatch.transforms.tagging.ner_filters import credit_regions, is_title, keep


def span(text: str, surface: str, kind: str) -> tuple[int, int, str]:
    start = text.index(surface)
    return start, start + len(surface), kind


@pytest.mark.parametrize(
    "text, surface",
    [
        ("Secretary of State Marco Rubio said", "State"),
        ("the Secretary of State said", "Secretary of State"),
        ("Interior Minister Nancy Faeser said", "Interior"),
        ("Interior Minister Nancy Faeser said", "Interior Minister"),
        ("the Minister of the Interior said", "Interior"),
        ("Chancellor of the Exchequer Rachel Reeves", "Exchequer"),
        ("Foreign Secretary David Lammy", "Foreign Secretary"),
        ("Deputy Prime Minister Angela Rayner", "Deputy Prime Minister"),
    ],
)
def test_titles_are_not_organisations(text, surface):
    assert keep(text, [span(text, surface, "ORG")]) == []


@pytest.mark.parametrize(
    "text, surface",
    [
        ("the State Department said", "State Department"),
        ("the Interior Ministry said", "Interior Ministry"),
        ("the Treasury said on Monday", "Treasury"),
        ("the president of Microsoft said", "Microsoft"),
        ("Homeland Security said", "Homeland Security"),
    ],
)
def test_organisations_that_look_like_titles_stay(text, surface):
    assert keep(text, [span(text, surface, "ORG")]) == [span(text, surface, "ORG")]


def test_credit_line_people_are_dropped_but_the_news_people_stay():
    text = (
        " Kelly meets Smith | John Kelly met Brad Smith in Mexico City. "
        "(Reporting by Jeff Mason in Washington; additional reporting by Ana Pérez; "
        "Editing by Chizu Nomiyama and Leslie Adler) "
    )
    names = [
        "John Kelly",
        "Brad Smith",
        "Jeff Mason",
        "Ana Pérez",
        "Chizu Nomiyama",
        "Leslie Adler",
    ]
    spans = [span(text, n, "PERSON") for n in names] + [span(text, "Washington", "PLACE")]
    spans.append(span(text, "Reporting", "ORG"))
    kept = {text[s:e] for s, e, _ in keep(text, spans)}
    assert kept == {"John Kelly", "Brad Smith", "Washington"}


def test_credit_line_at_the_end_without_parentheses_and_a_byline():
    text = " Rates on hold | By Jane Doe and Max Roe. The Fed held rates. Reporting by Ann Saphir "
    regions = credit_regions(text)
    for name in ("Jane Doe", "Max Roe", "Ann Saphir"):
        start = text.index(name)
        assert any(s <= start < e for s, e in regions), name
    assert not is_title(text, *span(text, "Fed", "ORG")[:2])


def test_prose_with_by_is_not_a_credit_line():
    text = " Study | Research by John Smith found that, by 2030, Anna Lee would lead. "
    spans = [span(text, "Anna Lee", "PERSON")]
    assert keep(text, spans) == spans
    text = " Study | A study led by economists, with research by John Smith, found "
    spans = [span(text, "John Smith", "PERSON")]
    assert keep(text, spans) == spans

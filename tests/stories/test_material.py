"""The headline-change rule (material.py): which copies are updates."""

from __future__ import annotations

import pytest

from wirewatch.transforms.stories.material import markers, new_markers


@pytest.mark.parametrize(
    "before, after",
    [
        ("Racing driver injured in crash at Monza", "Racing driver dies after crash at Monza"),
        ("Russian strikes on Kyiv kill nine", "Russian attack on Kyiv kills 12"),
        ("Cantor nears $3bn crypto venture", "Cantor strikes $3.6bn crypto venture"),
        ("Minister will resign, aides say", "Minister will not resign, aides say"),
        ("Minister will resign, aides say", "Minister won't resign, aides say"),
        ("Suspect held after stabbing", "Suspect charged after stabbing"),
        ("Central bank holds rates", "CORRECTED: Central bank holds rates"),
        ("Candidate leads in early count", "Candidate wins election"),
    ],
)
def test_material_change_is_an_update(before, after):
    assert new_markers(after, markers(before))


@pytest.mark.parametrize(
    "before, after",
    [
        ("Pope Francis dies, triggering succession", "Pope Francis's death triggers succession"),
        ("Mexico's president cancels meeting with Trump", "Peña Nieto scraps Trump visit"),
        ("Global stocks gain after Trump soothes Fed", "US stocks rise after Trump soothes Fed"),
        ("Russian strikes kill nine in Kyiv", "Nine killed in Russian strikes on Kyiv"),
        (
            "Tariffs to weaken growth, says ECB's Cipollone",
            "Tariffs to weaken growth, ECB's Cipollone says",
        ),
    ],
)
def test_rewording_is_a_copy(before, after):
    assert not new_markers(after, markers(before))


def test_markers_of_all_earlier_members_count():
    earlier = markers("Driver injured in crash") | markers("Driver dies after crash")
    assert not new_markers("Driver killed in crash", earlier)

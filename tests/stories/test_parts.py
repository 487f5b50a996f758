"""URL keys, LSH bands and settings validation."""

from __future__ import annotations

import struct
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wirewatch.transforms.ingest.links import canonical_link
from wirewatch.transforms.stories import StorySettings
from wirewatch.transforms.stories.lsh import band_keys, candidate_probability
from wirewatch.transforms.stories.urlkey import _parts, canonical, url_key


@pytest.mark.parametrize(
    "link, key",
    [
        ("https://www.news.example/a/b/?utm_source=x&id=7#top", "news.example/a/b?id=7"),
        ("http://news.example/a/b", "news.example/a/b"),
        ("https://archive.is/newest/https://www.wsj.com/world/x", "wsj.com/world/x"),
        (
            "https://web.archive.org/web/20250101000000/https://ft.com/content/abc",
            "ft.com/content/abc",
        ),
        ("https://news.example/", None),
        ("javascript:alert(1)", None),
        (None, None),
    ],
)
def test_url_key(link, key):
    assert url_key(link) == key


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    st.text(alphabet="abc.-:@[]1", max_size=12),
    st.text(alphabet="ab/?#&=.%:@ ", max_size=20),
)
def test_the_parts_of_a_canonical_link_are_what_urlsplit_reads(scheme, host, rest):
    link = canonical_link(f"{scheme}://{host}{rest}")
    if link:
        split = urlsplit(link)
        assert _parts(link) == (split.netloc, split.path, split.query)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    st.sampled_from(["http", "https", "HTTPS", " https", "ftp"]),
    st.text(alphabet="aB0.-:@[]", max_size=8),
    st.sampled_from(["/", "/", "/", "", "?", "#"]),
    st.text(alphabet="aZ9/?#&=.%:@~!$'()*+,; \t\n\x00é", max_size=16),
)
@example("http", "a", "/", "b\t")  # white space a link may carry
@example(" http", "a", "/", "b\n")
@example("http:", "a", "/", "b")  # not a host: "http:/a/b"
@example("http", "a:80", "/", "b")  # the default port
@example("https", "a", "/", "b c")
def test_a_link_taken_as_canonical_is_what_canonical_link_makes(scheme, host, slash, rest):
    link = (
        f"{scheme}/{host}{slash}{rest}"
        if scheme.endswith(":")
        else f"{scheme}://{host}{slash}{rest}"
    )
    again = canonical_link(link)  # what the parser stores: the usual input
    for each in (link, again):
        assert canonical(each) == canonical_link(each)


def test_band_keys_are_deterministic_and_salted_by_kind():
    sig = struct.pack("<96I", *range(96))
    full = band_keys(sig, kind="f", bands=32, rows=3)
    assert full == band_keys(sig, kind="f", bands=32, rows=3)
    assert len(set(full)) == 32
    assert not set(full) & set(band_keys(sig, kind="t", bands=32, rows=3))
    assert all(-(2**63) <= k < 2**63 for k in full)
    with pytest.raises(ValueError, match="32 bands x 4 rows need 128"):
        band_keys(sig, kind="f", bands=32, rows=4)


def test_band_keys_never_change_they_are_stored():
    """A stored index is looked up with the keys of new articles: a change of the hashing
    would make every stored article a stranger until it left the window."""
    sig = struct.pack("<72I", *range(1000, 1000 + 72 * 7919, 7919))
    assert band_keys(sig, kind="f", bands=24, rows=3)[:3] == [
        -6884539439996941121,
        2684039866526397049,
        -5850866787555687786,
    ]
    assert band_keys(sig, kind="t", bands=24, rows=3)[-2:] == [
        5425410140346590717,
        -1102680260723012542,
    ]


def test_default_banding_finds_pairs_at_the_threshold_and_few_strangers():
    s = StorySettings()
    assert candidate_probability(s.threshold, bands=s.bands, rows=s.rows) > 0.95
    assert candidate_probability(0.6, bands=s.bands, rows=s.rows) > 0.99
    assert candidate_probability(0.05, bands=s.bands, rows=s.rows) < 0.01
    assert s.num_perm == 72


def test_settings_reject_a_retention_shorter_than_the_window():
    with pytest.raises(ValidationError, match="retain_hours"):
        StorySettings(window_hours=48, retain_hours=24)
    with pytest.raises(ValidationError, match="threshold"):
        StorySettings(threshold=1.5)

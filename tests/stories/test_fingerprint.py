"""Features, MinHash and similarity: the pure parts the index builds on."""

from __future__ import annotations

import hashlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from wirewatch.transforms.stories import fingerprint as fingerprint_module
from wirewatch.transforms.stories.fingerprint import (
    NUMBER_WORDS,
    STOPWORDS,
    MinHasher,
    content_words,
    features,
    fingerprint,
    jaccard,
    pack,
    similarity,
    unpack,
)

ARGS = dict(num_perm=96, lead_words=30, min_title_words=4)


def test_content_words_fold_case_accents_possessives_plurals_and_numbers():
    assert content_words("Peña Nieto's TALKS with the U.S. on Nine tariffs") == [
        "pena",
        "nieto",
        "talk",
        "9",
        "tariff",
    ]
    assert content_words("Companies say") == ["company"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from(["the", "a", "x", "7", "nine", "talks", "companies", "ss", "Ümlaut"])
        | st.text(alphabet="abs9 .'é", max_size=8),
        max_size=40,
    ),
    st.sampled_from([None, 0, 1, 5, 30]),
)
def test_remembered_content_words_are_the_words_checked_one_by_one(words, limit):
    text = " ".join(words)
    fingerprint_module._CONTENT.clear()
    expected: list[str] = []
    for word in fingerprint_module.fold(text).split():  # the checks, word by word
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        expected.append(fingerprint_module.stem(NUMBER_WORDS.get(word, word)))
        if limit is not None and len(expected) >= limit:
            break
    assert content_words(text, limit) == expected  # learning the words
    assert content_words(text, limit) == expected  # remembered


def test_features_are_words_and_adjacent_pairs():
    assert features(["fed", "cut", "rate"]) == {"fed", "cut", "rate", "fed cut", "cut rate"}


def test_lead_is_cut_to_lead_words():
    long_lead = " ".join(f"word{i}" for i in range(100))
    assert len(
        fingerprint("Title words here now", long_lead, **{**ARGS, "lead_words": 5}).full
    ) == len(
        fingerprint("Title words here now", " ".join(f"word{i}" for i in range(5)), **ARGS).full
    )


def _naive_minhash(feats, num_perm):
    rows = [
        struct.unpack(f"<{num_perm + 1}I", hashlib.shake_128(f.encode()).digest(4 * (num_perm + 1)))
        for f in feats
    ]
    return tuple(min(r[i + 1] & 0x7FFFFFFF for r in rows) for i in range(num_perm))


def _signature(hasher: MinHasher, feats, own: set[int]) -> tuple[int, ...]:
    """The signature values of `feats` as `fingerprint` makes them (lanes, minima, packed)."""
    packed = hasher.packed(hasher.minima(hasher.lanes(feats, own), 0)[1])
    return struct.unpack(f"<{hasher.num_perm}I", packed)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=40), st.sampled_from([1, 7, 96])
)
def test_packed_minhash_equals_the_textbook_per_position_minimum(feats, num_perm):
    hasher = MinHasher(num_perm)
    own: set[int] = set()
    assert _signature(hasher, feats, own) == _naive_minhash(feats, num_perm)
    assert len(own) <= len(feats)


def test_feature_hashes_and_leading_values_do_not_depend_on_num_perm():
    small, large = MinHasher(8), MinHasher(96)
    own_small: set[int] = set()
    own_large: set[int] = set()
    sig_small = _signature(small, ["fed cut", "rate"], own_small)
    sig_large = _signature(large, ["fed cut", "rate"], own_large)
    assert own_small == own_large and sig_large[:8] == sig_small


def test_signature_agreement_estimates_jaccard():
    a = {f"w{i}" for i in range(0, 60)}
    b = {f"w{i}" for i in range(20, 80)}  # Jaccard 40/80 = 0.5
    hasher = MinHasher(512)
    sa = _signature(hasher, a, set())
    sb = _signature(hasher, b, set())
    agree = sum(x == y for x, y in zip(sa, sb)) / 512
    assert abs(agree - 0.5) < 0.08


def test_similarity_takes_the_better_of_full_text_and_title():
    lead_a = "Officials met in Washington on Tuesday to discuss migration and trade."
    lead_b = "A completely different standfirst written by another desk entirely."
    a = fingerprint("Mexico and US resume immigration talks in Washington", lead_a, **ARGS)
    b = fingerprint("Mexico and US resume immigration talks in Washington", lead_b, **ARGS)
    score, basis = similarity(a, b, 4)
    assert (score, basis) == (1.0, "title")
    assert similarity(a, b, 4) == similarity(b, a, 4)


def test_empty_text_has_no_signature_and_no_similarity():
    empty = fingerprint("", "", **ARGS)
    assert empty.full_sig is None and empty.title_sig is None
    assert (
        similarity(empty, fingerprint("Something happened today in town", "", **ARGS), 4)[0] == 0.0
    )


def test_pack_round_trips():
    hashes = frozenset({0, 1, 2**32 - 1, 12345})
    assert unpack(pack(hashes)) == hashes
    assert jaccard(frozenset(), hashes) == 0.0

from hypothesis import given
from hypothesis import strategies as st

from wirewatch.transforms.tagging.text import fold, is_acronym, key, prepare


def test_fold_lowercases_strips_accents_and_blanks_punctuation():
    assert fold("Peña Nieto, U.S.-Mexican") == "pena nieto  u s  mexican"
    assert fold("Côte d’Ivoire") == "cote d ivoire"
    assert fold("Łódź ØRESUND") == "lodz oresund"


def test_fold_of_text_mixing_other_scripts_keeps_their_letters_lower_cased():
    # Latin-only text folds through the ASCII codec; a run that stays non-ASCII (東京, Αθήνα)
    # sends the whole text down the per-character path, with the same result for the Latin.
    assert fold("Tōkyō 東京, Αθήνα’s café") == "tokyo 東京  αθηνα s cafe"
    assert fold("Αθήνα") == "αθηνα"


def test_latin_1_signs_that_fold_to_no_ascii_letter_take_the_per_character_path():
    # Latin-1 folds by one byte table; µ and ½ do not fold to one ASCII character, so a text
    # with them is folded character by character, to the same result as any other.
    assert fold("Â£5m, µ ½ café — “Né”") == "a 5m  \u03bc ½ cafe    ne "  # µ: Greek mu


@given(st.text())
def test_fold_keeps_length_so_offsets_need_no_map(text):
    assert len(fold(text)) == len(text)


def test_key_is_single_spaced_and_matches_the_fold_of_text():
    assert key("  U.S.  ") == "u s"
    assert key("Mexico  City") == "mexico city"
    assert key("Peña") == key("PENA") == "pena"


def test_acronyms_are_short_all_caps_words():
    assert is_acronym("US") and is_acronym("U.S.") and is_acronym("NATO")
    assert not is_acronym("Nato") and not is_acronym("United States") and not is_acronym("UNESCOS")


def test_prepare_separates_title_and_body_and_normalizes_whitespace():
    text = prepare("Mexico", "City  officials\nmet")
    assert text.original == " Mexico | City officials met "
    assert text.folded[text.title_end - 2 : text.title_end + 2] == "o   "
    assert text.has_upper and not prepare("all lower", "case").has_upper

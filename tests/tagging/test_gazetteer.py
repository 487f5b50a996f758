from wirewatch.transforms.tagging.gazetteer import compile_gazetteer, surname_forms
from wirewatch.transforms.tagging.schema import EntityConfig


def test_surname_forms_are_the_trailing_parts_of_a_name():
    assert surname_forms("Miguel Ángel Osorio Chong") == [
        "Ángel Osorio Chong",
        "Osorio Chong",
        "Chong",
    ]
    assert surname_forms("John F. Kelly Jr.") == ["F. Kelly", "Kelly"]
    assert surname_forms("Ursula von der Leyen") == ["von der Leyen"]
    assert surname_forms("Madonna") == []


def test_aliases_carry_kind_and_case_check():
    gazetteer = compile_gazetteer(
        [
            EntityConfig(
                id="us",
                name="United States",
                type="PLACE",
                aliases=["US", "America"],
                demonyms=["American"],
                ambiguous=["America"],
                context=["Washington"],
            ),
            EntityConfig(id="john-kelly", name="John Kelly", type="PERSON"),
        ]
    )
    refs = {k: [(r.kind, r.check) for r in v] for k, v in gazetteer.aliases.items()}
    assert refs["united states"] == [("name", "any")]
    assert refs["us"] == [("alias", "exact")]
    assert refs["america"] == [("ambiguous", "capital")]
    assert refs["american"] == [("demonym", "capital")]
    assert refs["kelly"] == [("partial", "capital")]
    assert gazetteer.context == {"washington": (0,)}

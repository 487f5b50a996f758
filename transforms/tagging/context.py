"""Context rules that fix what a dictionary alone gets wrong about one-word names.

A gazetteer knows that "Jordan" is a country and "Chicago" a city; the text around a mention
says when it is not:
- a part of a longer name: "Neil Jordan", "Colorado Rockies", "China Daily", "U.S. Open",
  "Van der Bellen", "University of Chicago", "Chicago III" (except in Headline Case titles,
  where every word is capitalized). Only that mention is dropped: "Air China", "South Lebanon
  Army" or a byline before a dateline ("Ramthan Hussain SINGAPORE") say nothing about a later
  "China", "Lebanon" or "Singapore". The one exception is a person's name ("Neil Jordan"):
  after it a bare "Jordan" is the same person (one sense per discourse);
- another person with a listed surname: "Eric Trump", "Melania Trump", "Donald Trump Jr." are
  not Donald Trump; once the article names such a namesake, a bare "Trump" counts only if the
  listed person is named in full too;
- a capital standing for its government: "Washington said", "sanctioned by Beijing",
  "Moscow, Berlin and Ottawa condemned" name the country (`capital_of`), while "in
  Washington" stays the city;
- an adjective: "New York-based", "Hong Kong-listed" still name the place, but as a modifier
  (kind `modifier`, like a demonym), not as a name of it;
- a sports club: in a sport article a city or US state followed by a score, or in an all-caps
  fixture line ("CHICAGO 72 64", "ATLANTA AT CHICAGO"), or the subject of a sports verb, is the
  club named after it: an ORG with a generated id (`org:chicago`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from wirewatch.transforms.tagging.entities import Mention
from wirewatch.transforms.tagging.text import STOPWORDS, Prepared, fold

# Capitalized words that follow a place without making a longer name (U.S. President ...).
_TITLES = frozenset(
    """president vice secretary minister prime foreign interior defence defense
finance trade ambassador envoy senator governor mayor king queen prince leader government
officials official army navy police troops forces embassy consulate
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december""".split()
)
# Capitalized words that start sentences without being part of a name ("In Jordan, ...").
_OPENERS = STOPWORDS | frozenset(
    """after before when while since during despite although though
because meanwhile also then however across throughout like unlike outside inside near
officials both neither either many most some""".split()
)
_CLUB_SUBTYPES = frozenset({"city", "us-state"})
_SCORE = re.compile(r"\s*\d{1,3}(?:[ ,.]|$)")
_DATE = re.compile(r"\s*\d{4}-\d\d-\d\d")
_SPORT_VERBS = frozenset(
    """beat beats defeated defeats edged blanked routed tied trailed led
leads won wins lost loses scored rallied swept hosts host visit visits""".split()
)
_PLACE_PREPOSITIONS = frozenset("in from near to of outside inside around across".split())
# Words that begin names of things, not people: "Air China" and "South Lebanon" do not make a
# later "China" or "Lebanon" a surname.
_THING_HEADS = frozenset(
    """air south north east west central upper lower greater new old great grand royal
port lake mount cape fort saint st radio bank banco club real sporting""".split()
)
# "University of Chicago", "Bank of China": the place is part of an institution's name.
_INSTITUTIONS = frozenset(
    "university college institute bank museum school academy archdiocese diocese".split()
)
_PARTICLES = frozenset("der de den van von la le del da du di dos das ter ten".split())
_NUMERALS = frozenset("II III IV V VI VII VIII IX X XI XII".split())
_COMPANY_TAILS = frozenset("airlines airways air railways telecom petroleum broadcasting".split())
# Words before a surname that do not make it someone else's name ("President Trump").
_HONORIFICS = _TITLES | frozenset(
    """mr mrs ms miss dr sir dame lord lady sen rep gov gen col lt sgt chancellor premier
chairman chairwoman chair chief judge justice general commander speaker spokesman
spokeswoman former late candidate nominee us u s uk""".split()
)
# Capitalized words before a surname that are not first names: "How Trump ...", "Meet Trump's".
_NOT_FIRST_NAMES = frozenset(
    """how why what where who whom whose which does do did can could will would should shall
may might must is are was were has have had meet inside behind blame thank trust ask let make
even only just without against under over about with""".split()
)
_SUFFIXES = frozenset("jr jr. sr sr.".split())
# What a government does in news copy: "Washington said", "Beijing imposed".
_GOVERNMENT_VERBS = frozenset(
    """said says say told announced announces warned warns accused accuses condemned
condemns rejected rejects denied denies imposed imposes sanctioned urged urges demanded demands
threatened threatens insisted insists claimed claims agreed agrees refused refuses responded
responds retaliated retaliates criticised criticized criticises criticizes protested protests
vowed vows pledged pledges expelled expels summoned summons recognised recognized recognises
recognizes blamed blames objected objects welcomed welcomes approved approves backed backs
wants wanted hopes hoped fears feared believes believed considers considered plans planned
signalled signaled sought seeks pushed pushes pressed presses prepares prepared retains
retained released releases freed frees opposes opposed asserts asserted acknowledges
acknowledged admits admitted offers offered presented presents stokes stoked looks sees
digs ordered orders owes signed signs negotiates negotiated confirmed confirms declined declines
dismissed dismisses issued issues deployed deploys annexed recalled recalls suspended
suspends halted halts banned bans blocked blocks lifted lifts eased eases tightened tightens
willing unwilling ready keen eager determined due canvassing pushing pressing seeking
trying preparing planning considering weighing threatening offering urging demanding
insisting want plan seek hope say agree accept intend need expect allow oppose respond
recognise recognize acknowledge vow insist warn reject deny demand""".split()
)
# The object of pressure ("convince Washington", "press Moscow for concessions").
_INFLUENCE_VERBS = frozenset(
    """pressure pressured pressuring pressures press pressed pressing convince convinced
convincing persuade persuaded urge urged urging warn warned warning told tell accuse accused
blame blamed blaming criticise criticised criticize criticized sanction sanctioned sanctioning
punish punished punishing reassure reassured lobby lobbied lobbying court courted courting
appease appeasing placate placating defy defied defying confront confronted provoke provoked
provoking isolate isolating rebuke rebuked snub snubbed antagonise antagonize anger angered
angering irritate irritated please pleased""".split()
)
# Prepositions after which a capital is the government ("talks with Washington", "loans to
# Kyiv", "spying for Beijing"), unless a motion word comes before them ("flew to Moscow").
_GOVERNMENT_PREPOSITIONS = frozenset("with against toward towards to for".split())
# "pressure on Beijing", "sanctions on Moscow" (but "strikes on Kyiv" hit the city).
_LEVERS = frozenset("pressure sanctions tariffs duties levies demands".split())
# "Beijing-backed accounts", "Moscow-led alliance" (but "Beijing-based" is the city).
_GOVERNMENT_COMPOUNDS = frozenset(
    """backed led brokered imposed sponsored allied aligned friendly funded controlled
installed appointed supported ordered""".split()
)
# "Kyiv officials", "Moscow authorities".
_GOVERNMENT_NOUNS = frozenset(
    "officials authorities regime negotiators diplomats policymakers leadership".split()
)
# What a capital's possessive owns when it is the city: "Beijing's streets", "London's mayor".
_CITY_NOUNS = frozenset(
    """streets street residents mayor airport airports subway metro suburb suburbs outskirts
skyline district districts neighbourhood neighbourhoods neighborhood neighborhoods restaurants
hotels air smog traffic city downtown centre center old port police governor university
universities zoo museum museums marathon population housing hospitals schools economy
parks river""".split()
)
# "flew from Washington" is the city; "pressure from Washington" the government.
_MOTION = frozenset(
    """flew fly flies flying travelled traveled travelling traveling came come comes coming
arrived arrives returned returns returning moved drove driving left leaving back flight
flights train trains miles km kilometres kilometers reported reporting reports writes wrote
road route way trip trips visit visits visited visiting journey tour went go goes going
heading headed head fled relocated bound departed sent delivered welcome""".split()
)


def _next_token(original: str, end: int) -> str:
    """The word after a span (within 40 characters), skipping one space."""
    start = end + 1 if original[end : end + 1] == " " else end
    stop = original.find(" ", start, end + 40)
    return original[start : stop if stop >= 0 else end + 40]


def _prev_token(original: str, start: int) -> str:
    """The word before a span (within 40 characters), or "" when the span is not after a space."""
    low = start - 40 if start > 40 else 0  # max(0, start - 40), without the call
    if start <= low or original[start - 1] != " ":
        return ""
    stop = start - 1
    while stop > low and original[stop - 1] == " ":
        stop -= 1
    space = original.rfind(" ", low, stop)
    return original[space + 1 if space >= 0 else low : stop]


def _titlecase(token: str) -> bool:
    """Starts upper-case and is not all upper-case: Gaal, MaliVai, Daily (not USA, not 1996)."""
    return token[:1].isupper() and token != token.upper()


def _token_after(original: str, end: int) -> tuple[str, int]:
    """The word after position `end` and where it ends."""
    token = _next_token(original, end)
    skip = 1 if original[end : end + 1] == " " else 0
    return token, end + skip + len(token)


def _starts_name(text: Prepared, m: Mention, starts: set[int]) -> bool:
    """ "China Daily", "U.S. Open", "Douglas & Lomason", "Van der Bellen", "Chicago III": the
    place begins a longer name.

    After a final dot ("... from the U.S. But ...", "... the U.S. Tillerson said") the next
    word may start a sentence: then it must not be an opener nor another mention."""
    original = text.original
    after = _next_token(original, m.end)
    if after == "&" or after.rstrip(".,;:") in _NUMERALS:
        return True
    if original[m.end : m.end + 1] != " ":
        return False
    if after in _PARTICLES:  # "Van der Bellen", "Sao Tome de ..." needs a name after it
        return _titlecase(_next_token(original, m.end + 1 + len(after)))
    if not (after[:1].isupper() and after != after.upper()):  # _titlecase, inline
        return False
    word = fold(after).strip()
    if m.surface.endswith(".") and (word in _OPENERS or m.end + 1 in starts):
        return False
    return word not in _TITLES


def _in_institution(text: Prepared, m: Mention) -> bool:
    """ "University of Chicago", "Bank of China": the place names the institution."""
    if text.original[m.start - 4 : m.start] != " of ":
        return False
    head = _prev_token(text.original, m.start - 3)
    return _titlecase(head) and fold(head).strip() in _INSTITUTIONS


def _ends_name(m: Mention, before: str) -> bool:
    """ "Neil Jordan", "MaliVai Washington": a capitalized word right before it (`before`,
    the word before the mention; no comma). Not a dateline after a byline ("Ramthan Hussain
    SINGAPORE"): the casing differs."""
    if not (_titlecase(before) and before[-1].isalnum()):
        return False
    if m.surface.isupper() and len(m.surface) > 1:
        return False
    return fold(before).strip() not in _OPENERS


def _person_shaped(text: Prepared, m: Mention, before: str) -> bool:
    """Whether "<Word> <place>" reads as a person's name, which a later bare mention repeats:
    "Neil Jordan" does, "Air China" and "South Lebanon Army" do not."""
    before = fold(before).strip()
    return before not in _THING_HEADS and not _titlecase(_next_token(text.original, m.end))


def _namesake(text: Prepared, m: Mention, headline_case: bool, starts: set[int]) -> bool:
    """ "Eric Trump", "Melania Trump", "Donald Trump Jr.": someone else with a listed name.
    (In a Headline Case title the word before may be any word: "Biden Says Trump ...".)"""
    after = _next_token(text.original, m.end)
    if text.original[m.end : m.end + 1] == " " and (
        after.lower().rstrip(",") in _SUFFIXES or after.rstrip(",.") in _NUMERALS
    ):
        return True
    if headline_case or m.kind not in ("alias", "partial") or " " in m.surface.strip():
        return False
    before = _prev_token(text.original, m.start)
    if not (_titlecase(before) and before[-1].isalnum()) or before.endswith(("'s", "’s")):
        return False  # "Russia's Putin"
    if m.start - len(before) - 1 in starts:
        return False  # "Kremlin Putin", "U.S. Trump": a name before it, not a first name
    word = fold(before).strip()
    return word not in _OPENERS and word not in _HONORIFICS and word not in _NOT_FIRST_NAMES


def _demonym_in_name(text: Prepared, m: Mention) -> bool:
    """ "Turkish Airlines", "Qatar Airways": a company, not the country ("Turkish air
    strikes" is the country)."""
    after = _next_token(text.original, m.end)
    return _titlecase(after) and fold(after).strip() in _COMPANY_TAILS


_AUXILIARIES = frozenset(
    """has have had will would could may might must should also did does is was
not never quickly later then repeatedly publicly immediately previously already officially
swiftly formally firmly still been doesn't don't didn't won't wouldn't can't isn't hasn't
haven't""".split()
)


def _acts(text: Prepared, end: int) -> bool:
    """Whether the words after `end` are a government's action: "said", "has warned"."""
    for _ in range(3):
        token, end = _token_after(text.original, end)
        word = token.lower().replace("’", "'").strip(".,;:'\"“”‘")
        if word in _GOVERNMENT_VERBS:
            return True
        if word not in _AUXILIARIES:
            return False
    return False


def _possessive(text: Prepared, m: Mention, headline_case: bool) -> bool:
    """ "Beijing's response", "Tehran's insistence", "Brussels' aims": a capital's possessive is
    its government's, unless what it owns is the city's ("Beijing's streets") or a name
    ("London's Metropolitan Police"; in a Headline Case title every word is capitalized)."""
    after = text.original[m.end : m.end + 3]
    if after[:2] in ("'s", "’s"):
        start = m.end + 2
    elif after[:1] in ("'", "’") and m.surface.endswith("s"):
        start = m.end + 1
    else:
        return False
    if text.original[start : start + 1] != " ":
        return False
    owned = _next_token(text.original, start)
    if not headline_case and _titlecase(owned):
        return False
    return fold(owned).strip() not in _CITY_NOUNS


def _governed(
    text: Prepared, first: Mention, last: Mention, group: bool, headline_case: bool, ends: set
) -> bool:
    """Whether a capital (or a run of them: "Moscow, Berlin and Ottawa") stands for its
    government: subject of a government verb ("Washington said", "Seoul prepares"), its
    possessive ("Beijing's response"), "Kyiv officials", "Beijing-backed", after "by", after
    "from" / "with" / "to" / "for" / "against" that is not travel ("talks with Washington",
    "a deal to Kyiv and Moscow"), the object of pressure ("convince Washington"), "pressure on
    Beijing", or "between Washington and Beijing". A place right before the preposition
    makes a route ("from Beijing to Moscow"): the cities."""
    original = text.original
    if original[last.end : last.end + 1] == "-":
        return fold(_next_token(original, last.end + 1)).strip() in _GOVERNMENT_COMPOUNDS
    if _acts(text, last.end) or (not group and _possessive(text, last, headline_case)):
        return True
    if fold(_next_token(original, last.end)).strip() in _GOVERNMENT_NOUNS:
        return True
    before = _prev_token(original, first.start)
    word = fold(before).strip()
    if word == "by" or (group and word == "between") or word in _INFLUENCE_VERBS:
        return True
    if word == "from" or word in _GOVERNMENT_PREPOSITIONS or word == "on":
        if first.start - len(before) - 2 in ends:
            return False
        earlier = fold(_prev_token(original, first.start - len(before) - 1)).strip()
        if word == "on":
            return earlier in _LEVERS
        return earlier not in _MOTION
    return False


def _addressed(text: Prepared, m: Mention) -> bool:
    """ "talks with Washington", "pressure Beijing": a capital that a government is dealing
    with, followed by a capitalized word that the gazetteer did not make a longer name of
    (FT leads end with their section names: "... talks with Washington Global Economy")."""
    before = _prev_token(text.original, m.start)
    word = fold(before).strip()
    if word in _INFLUENCE_VERBS:
        return True
    if word not in ("with", "against", "toward", "towards"):
        return False
    return fold(_prev_token(text.original, m.start - len(before) - 1)).strip() not in _MOTION


_JOINS = frozenset({", ", " and ", ", and ", " or ", " & "})


_METONYM_KINDS = frozenset({"name", "alias", "modifier"})


def _metonym_candidate(m: Mention, capitals: dict) -> bool:
    """A capital named plainly: not "Washington, D.C." nor "D.C.", which are only the city."""
    return m.id in capitals and m.kind in _METONYM_KINDS and "." not in m.surface


def _metonyms(
    text: Prepared, mentions: list[Mention], capitals: dict, headline_case: bool
) -> list[Mention]:
    """Capitals that stand for their governments become the country (kind `metonym`)."""
    out = list(mentions)
    ends = {m.end for m in out}
    i = 0
    while i < len(out):
        if not _metonym_candidate(out[i], capitals):
            i += 1
            continue
        j = i
        while (
            j + 1 < len(out)
            and _metonym_candidate(out[j + 1], capitals)
            and text.original[out[j].end : out[j + 1].start] in _JOINS
        ):
            j += 1
        in_headline_case = headline_case and out[i].start < text.title_end
        if _governed(text, out[i], out[j], j > i, in_headline_case, ends):
            for k in range(i, j + 1):
                country = capitals[out[k].id]
                out[k] = replace(
                    out[k],
                    id=country.id,
                    name=country.name,
                    type=country.type,
                    kind="metonym",
                    wikidata=country.wikidata,
                )
        i = j + 1
    return out


def _headline_case(title: str) -> bool:
    """ "Beijing Doesn't Want America to See Its Trade-War Pain": every word is capitalized, so
    capitals say nothing about names (CoNLL's all-caps headlines are not affected)."""
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    capitalized = sum(1 for w in words if _titlecase(w))
    return len(words) >= 3 and capitalized >= 0.6 * len(words)


def _is_modifier(text: Prepared, m: Mention) -> bool:
    after = text.original[m.end : m.end + 2]
    return after[:1] == "-" and after[1:].islower()


def _club_context(text: Prepared, m: Mention) -> bool:
    after = text.original[m.end : m.end + 12]
    if _DATE.match(after):
        return False  # dateline: "CHICAGO 1996-08-31"
    if _SCORE.match(after):
        return True
    next_word = fold(_next_token(text.original, m.end)).strip()
    prev_word = fold(_prev_token(text.original, m.start)).strip()
    if m.surface.isupper() and "at" in (next_word, prev_word):
        return True
    if prev_word in _PLACE_PREPOSITIONS:
        return False
    return next_word in _SPORT_VERBS or prev_word in _SPORT_VERBS


def apply(
    text: Prepared,
    mentions: list[Mention],
    subtypes: dict[str, str | None],
    sport: bool,
    capitals: dict | None = None,
) -> list[Mention]:
    """Drop, re-kind or re-type mentions by their context. `subtypes`: entity id -> subtype;
    `capitals`: a capital's entity id -> its country's EntityInfo."""
    out: list[Mention] = []
    person_words: set[str] = set()  # "Jordan" after "Neil Jordan": the person's name
    namesakes: set[str] = set()  # listed people whose surname someone else here carries
    # Mentions come in text order: only a title mention needs the title's casing looked at.
    headline_case = (
        mentions
        and mentions[0].start < text.title_end
        and _headline_case(text.original[: text.title_end])
    )
    starts = {m.start for m in mentions}
    original, title_end = text.original, text.title_end
    for m in mentions:
        in_headline_case = headline_case and m.start < title_end
        if m.type == "PERSON":
            if m.source == "gazetteer" and _namesake(text, m, in_headline_case, starts):
                namesakes.add(m.id)
                continue
            out.append(m)
            continue
        if (
            m.type in ("PLACE", "ORG")
            and m.kind in ("name", "alias", "ambiguous")
            and not in_headline_case
        ):
            surface = m.surface
            # One word, not an acronym: U.S., UN, NATO are no surnames, so "Top U.S.
            # officials" says nothing about a later U.S.
            if " " not in surface.strip(".") and not (
                surface.isupper() and (len(surface) <= 5 or "." in surface)
            ):
                key = text.folded[m.start : m.end].strip()  # fold() of the surface
                if key in person_words:
                    continue
                before = _prev_token(original, m.start)
                if before[:1].isupper() and _ends_name(m, before):
                    if _person_shaped(text, m, before):
                        person_words.add(key)  # later "Jordan" is the person too
                    continue
            if (
                m.type == "PLACE"
                and (
                    _starts_name(text, m, starts)
                    or (original[m.start - 4 : m.start] == " of " and _in_institution(text, m))
                )
                and not (capitals and m.id in capitals and _addressed(text, m))
            ):
                continue
        if m.kind == "demonym" and _demonym_in_name(text, m):
            continue
        if (
            m.type == "PLACE"
            and m.kind != "demonym"
            and original[m.end : m.end + 1] == "-"  # _is_modifier's first test, inline
            and _is_modifier(text, m)
        ):
            m = replace(m, kind="modifier")
        elif (
            sport
            and m.type == "PLACE"
            and subtypes.get(m.id) in _CLUB_SUBTYPES
            and _club_context(text, m)
        ):
            m = replace(m, id=f"org:{m.id}", type="ORG", kind="club", wikidata=None)
        out.append(m)
    if namesakes:
        named = {m.id for m in out if m.kind in ("name", "alias") and " " in m.surface.strip()}
        out = [m for m in out if m.id not in namesakes or m.id in named]
    if capitals and not capitals.keys().isdisjoint([m.id for m in out]):
        out = _metonyms(text, out, capitals, bool(headline_case))
    return out

"""Tagging speed: articles per second per core, 500-word articles, gazetteer grown to 50k aliases.

    python bench/tag.py --data ../shared/datasets/bbc/val.csv [--aliases 50000] [--words 500]
                        [--ner [--model builtin|en_core_web_sm|PATH]] [--seconds 10] [--no-pin]

Articles are cut from the texts in --data (a CSV with a `text` column, or plain text files),
joined and split into --words-word articles. The shipped gazetteer is grown with synthetic
entities (pronounceable names, people with surnames, multi-word organisations) to --aliases
aliases, so the automaton has the size of a real newsroom list. One process, one core: the
number is CPU time (time.process_time), so other load on the machine does not skew it; wall
time is printed too. The process is pinned to one CPU (see _pin_to_one_cpu); --no-pin shows
the unpinned number.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import config_from_args

from wirewatch.transforms.model import Article
from wirewatch.transforms.tagging.schema import EntityConfig
from wirewatch.transforms.tagging.tagger import Tagger

_SYLLABLES = (
    "ka ri to na mo le sa vi du ber gan tor mel fi ro ste lin dar qua zen hol "
    "bra cor ent pal mun sor tev ula wik yor"
).split()


def read_texts(path: str) -> list[str]:
    p = Path(path)
    files = sorted(p.rglob("*")) if p.is_dir() else [p]
    texts = []
    for f in files:
        if f.suffix == ".csv":
            with open(f, encoding="utf-8", newline="") as handle:
                texts += [row["text"] for row in csv.DictReader(handle)]
        elif f.is_file():
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
    return texts


def articles(texts: list[str], words: int) -> list[Article]:
    stream = " ".join(texts).split()
    now = datetime.now(timezone.utc)
    out = []
    for i in range(0, len(stream) - words + 1, words):
        chunk = stream[i : i + words]
        out.append(
            Article(
                id=str(i),
                feed_id="bench",
                title=" ".join(chunk[:10]),
                summary=" ".join(chunk[10:]),
                published=now,
            )
        )
    return out


def grow(entities: list[EntityConfig], target: int, seed: int = 7) -> list[EntityConfig]:
    """Add synthetic entities until the gazetteer has `target` aliases (name + aliases)."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    count = sum(1 + len(e.aliases) + len(e.demonyms) for e in entities)
    grown, n = list(entities), 0
    kinds = ("PERSON", "ORG", "PLACE")
    while count < target:
        kind = kinds[n % 3]
        if kind == "PERSON":
            name, aliases = f"{word()} {word()}", []
        elif kind == "ORG":
            name = f"{word()} {rng.choice(['Holdings', 'Group', 'Bank', 'Institute', 'Party'])}"
            aliases = [name.split()[0] + " " + rng.choice(["Corp", "Ltd"])]
        else:
            name, aliases = word(), [f"{word()} {word()}"]
        grown.append(EntityConfig(id=f"synthetic-{n}", name=name, type=kind, aliases=aliases))
        count += 1 + len(aliases)
        n += 1
    return grown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="CSV with a text column, or text files")
    parser.add_argument("--config", help="main config (default: the shipped configs)")
    parser.add_argument("--aliases", type=int, default=50_000)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0, help="measure at least this long")
    parser.add_argument("--ner", action="store_true", help="also run the spaCy NER (extra)")
    parser.add_argument(
        "--model", default="builtin", help="spaCy pipeline for --ner (default: the shipped one)"
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="let the kernel move the process between cores"
    )
    args = parser.parse_args()

    pinned = None if args.no_pin else _pin_to_one_cpu()
    config = config_from_args(args.config, ner=args.ner)
    if args.ner:
        settings = config.tagging
        ner = settings.ner.model_copy(update={"model": args.model})
        object.__setattr__(config, "tagging", settings.model_copy(update={"ner": ner}))
    entities = grow(list(config.entities), args.aliases)
    started = time.perf_counter()
    tagger = Tagger(list(config.taxonomy), entities, getattr(config, "tagging", None))
    build = time.perf_counter() - started
    docs = articles(read_texts(args.data), args.words)
    if not docs:
        print(f"{args.data}: not enough text for one {args.words}-word article", file=sys.stderr)
        return 2
    tagger.tag(docs[0])  # warm up
    done, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < args.seconds:
        for doc in docs:
            tagger.tag(doc)
        done += len(docs)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    reference = _reference_us()
    mode = f"gazetteer+topics+NER ({args.model})" if args.ner else "gazetteer+topics"
    print(
        f"{mode}: {tagger.gazetteer.alias_count} aliases ({len(tagger.gazetteer.entities)} "
        f"entities), {len(tagger.matcher)} patterns, built in {build:.2f} s"
    )
    print(
        f"{done} articles of {args.words} words: {done / cpu:.0f} articles/s per core "
        f"(CPU time; {done / wall:.0f}/s wall), {cpu / done * 1e6:.0f} us/article, "
        + (f"pinned to CPU {pinned}" if pinned is not None else "not pinned")
    )
    print(
        f"machine reference: sum(range(1000)) takes {reference:.1f} us here (about 8-10 us "
        f"on an idle modern core; a larger number means a slower or busier machine)"
    )
    return 0


def _pin_to_one_cpu() -> int | None:
    """Stay on one CPU for the whole run. A single busy process on an otherwise idle machine
    gets moved between cores, and every move costs it the caches holding the automaton and the
    gazetteer: on the 2-vCPU development VM that alone moved single runs by +-20%. A worker on
    a loaded machine (one per core) stays put, so the pinned number is the per-core one."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _reference_us() -> float:
    """A fixed pure-Python workload, so numbers from busy or slow machines can be compared."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(2000):
            sum(range(1000))
        best = min(best, (time.process_time() - started) / 2000 * 1e6)
    return best


if __name__ == "__main__":
    sys.exit(main())

"""Tag precision and recall on real feed items labelled by hand (bench/data/feed_labels.jsonl).

    python bench/eval_feed_tags.py [--labels bench/data/feed_labels.jsonl] [--config FILE]
                                   [--split tune|held-out] [--errors N]

Why: development splits (BBC, CoNLL) are not what rules see. The labelled set is 240
headlines and leads from the feed snapshots in ../shared/datasets/feeds (Economist, FT,
NYT economy, WSJ economy and world), each with the topics and entities an editor would file it
under, chosen by reading the item, not by running the tagger. Each item also lists borderline
readings (`optional_topics`, `optional_entities`: "Trumponomics" for donald-trump, politics
for a tariff story): emitting one is not counted wrong, missing one is not counted missed.
A gold topic implies its ancestors (trade implies economy).

Measured on what rules see, the emitted tags (`Tagger.tag`):
- topics, all levels and top level only: precision = emitted in gold / emitted not optional,
  recall = gold emitted / gold;
- entities (ids): the same; "reachable" recall counts only gold ids the gazetteer lists;
- headline only: the item tagged from its title alone (feeds that send no lead), top-level
  topics against the same gold, and how many items get no topic at all.
Both halves are reported: rules were tuned looking at `tune` only; `held-out` is the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from _common import ROOT, config_from_args

from wirewatch.transforms.model import Article
from wirewatch.transforms.tagging.tagger import Tagger

LABELS = ROOT / "bench" / "data" / "feed_labels.jsonl"
SPLITS = ("tune", "held-out")


class Tally:
    """True positives, false positives and gold counts of one measure."""

    def __init__(self) -> None:
        self.tp = self.fp = self.gold = 0

    def add(self, emitted: set, gold: set, optional: set) -> tuple[set, set]:
        """Count one item; returns (wrong tags, missed gold)."""
        wrong = emitted - gold - optional
        self.tp += len(emitted & gold)
        self.fp += len(wrong)
        self.gold += len(gold)
        return wrong, gold - emitted

    def row(self) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / self.gold if self.gold else 1.0
        return f"P {p:.3f} ({self.tp}/{self.tp + self.fp})  R {r:.3f} ({self.tp}/{self.gold})"


def read_labels(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _article(item: dict, with_lead: bool = True) -> Article:
    return Article(
        id=item["id"],
        feed_id=item["feed"],
        title=item["title"],
        summary=item["lead"] if with_lead else "",
        published=datetime.fromisoformat(item["published"]).replace(tzinfo=timezone.utc),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", default=str(LABELS), help="the labelled JSONL file")
    parser.add_argument("--config", help="main config (default: the shipped configs)")
    parser.add_argument("--split", choices=SPLITS, help="only this half")
    parser.add_argument("--errors", type=int, default=0, help="print N items with a wrong tag")
    args = parser.parse_args()
    tagger = Tagger.from_config(config_from_args(args.config))
    topics = {t.id: t for t in tagger.scorer.topics}
    known = {e.id for e in tagger.gazetteer.entities}

    def closed(ids: list[str]) -> set[str]:
        """The ids and their ancestors (an unknown id is kept: it can only be missed)."""
        out = set()
        for topic_id in ids:
            while topic_id and topic_id not in out:
                out.add(topic_id)
                topic_id = topics[topic_id].parent if topic_id in topics else None
        return out

    def top(ids: set[str]) -> set[str]:
        return {t for t in ids if t in topics and topics[t].parent is None}

    items = [i for i in read_labels(Path(args.labels)) if args.split in (None, i["split"])]
    names = ("topics", "top-level topics", "entities", "entities (reachable)", "headline only")
    tallies = {split: {n: Tally() for n in names} for split in (*SPLITS, "all")}
    untopiced = {split: [0, 0] for split in (*SPLITS, "all")}  # [full item, headline only]
    shown = 0
    for item in items:
        tagged = tagger.tag(_article(item))
        headline = tagger.tag(_article(item, with_lead=False))
        gold_topics, optional_topics = closed(item["topics"]), closed(item["optional_topics"])
        emitted_topics = {t.id for t in tagged.topics}
        emitted_entities = {e.id for e in tagged.entities}
        gold_entities, optional_entities = set(item["entities"]), set(item["optional_entities"])
        measures = {
            "topics": (emitted_topics, gold_topics, optional_topics),
            "top-level topics": (top(emitted_topics), top(gold_topics), top(optional_topics)),
            "entities": (emitted_entities, gold_entities, optional_entities),
            "entities (reachable)": (
                emitted_entities & known,
                gold_entities & known,
                optional_entities,
            ),
            "headline only": (
                top({t.id for t in headline.topics}),
                top(gold_topics),
                top(optional_topics),
            ),
        }
        report = []
        for split in (item["split"], "all"):
            for name, sets in measures.items():
                wrong, missed = tallies[split][name].add(*sets)
                if split == "all" and name in ("topics", "entities") and (wrong or missed):
                    report.append(f"  {name} wrong {sorted(wrong)} missed {sorted(missed)}")
            untopiced[split][0] += not tagged.topics
            untopiced[split][1] += not headline.topics
        if report and shown < args.errors:
            shown += 1
            print(f"[{item['split']}] {item['title']} || {item['lead'][:160]}")
            print("  emitted:", sorted(emitted_topics), sorted(emitted_entities))
            print("\n".join(report))
    if shown:
        print()
    for split in (*SPLITS, "all"):
        count = sum(1 for i in items if split == "all" or i["split"] == split)
        if not count:
            continue
        print(f"{split}: {count} items")
        for name, tally in tallies[split].items():
            print(f"  {name:22} {tally.row()}")
        full, alone = untopiced[split]
        print(f"  {'no topic':22} {full} of {count} items; {alone} from the headline alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Topic quality on the BBC News set: the top category, and the topics rules actually see.

    python bench/eval_topics.py --data ../shared/datasets/bbc/val.csv [--config FILE] [--errors N]
    python bench/eval_topics.py --data ../shared/datasets        # a folder: uses bbc/val.csv

Our topics are mapped to BBC's (below). Two measures:
- top category: the BBC category whose mapped topic scores highest (the tagger's final score,
  classifier and evidence combined); accuracy and macro-F1 over the five categories. An article
  with no score for any mapped topic counts as wrong.
- emitted topics: per category, the precision and recall of the mapped top-level topic being
  among the article's emitted tags (score >= threshold): what a `topic:` rule matches. An
  article may emit several, so precision counts every emitted tag against the one gold label.
The file is only read, never trained on (bench/train_topics.py reads train.csv).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

from _common import config_from_args

from wirewatch.transforms.tagging.tagger import Tagger

BBC_MAP = {
    "business": "economy",
    "entertainment": "arts-culture-entertainment",
    "politics": "politics",
    "sport": "sport",
    "tech": "science-technology",
}


def predict(tagger: Tagger, text: str) -> tuple[str, dict, set]:
    """(top category, score per category, the categories whose topic is emitted)."""
    _, counts, _ = tagger.analyze("", text)
    scorer = tagger.scorer
    final = {scorer.topics[d.topic].id: d.score for d in scorer.decide(counts)}
    scores = {bbc: final.get(ours, 0.0) for bbc, ours in BBC_MAP.items()}
    best = max(scores, key=scores.get)
    emitted_ids = {t.id for t in scorer.score(counts)}
    emitted = {bbc for bbc, ours in BBC_MAP.items() if ours in emitted_ids}
    return (best if scores[best] > 0 else "none"), scores, emitted


def data_file(path: str) -> Path:
    """A CSV, or the shared datasets folder (its bbc/val.csv)."""
    found = Path(path)
    return found / "bbc" / "val.csv" if found.is_dir() else found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", required=True, help="BBC CSV (text,category) or the datasets folder"
    )
    parser.add_argument("--config", help="main config (default: the shipped taxonomy)")
    parser.add_argument("--errors", type=int, default=0, help="print N misclassified articles")
    args = parser.parse_args()
    tagger = Tagger.from_config(config_from_args(args.config))
    with open(data_file(args.data), encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    started = time.perf_counter()
    gold, pred, errors, emitted = [], [], [], []
    for row in rows:
        label, scores, fired = predict(tagger, row["text"])
        gold.append(row["category"])
        pred.append(label)
        emitted.append(fired)
        if label != row["category"]:
            errors.append((row["category"], label, scores, row["text"][:160]))
    elapsed = time.perf_counter() - started
    accuracy = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    f1s = {}
    for label in sorted(BBC_MAP):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label != g for g, p in zip(gold, pred))
        fn = sum(g == label != p for g, p in zip(gold, pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[label] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    macro = sum(f1s.values()) / len(f1s)
    print(
        f"{args.data}: {len(gold)} articles, accuracy {accuracy:.4f}, macro-F1 {macro:.4f} "
        f"({len(gold) / elapsed:.0f} articles/s)"
    )
    print("  per class F1: " + ", ".join(f"{k} {v:.3f}" for k, v in f1s.items()))
    print("  emitted topics (what topic: rules see), per category:")
    worst = 1.0
    for label in sorted(BBC_MAP):
        tp = sum(g == label and label in e for g, e in zip(gold, emitted))
        fired = sum(label in e for e in emitted)
        relevant = sum(g == label for g in gold)
        prec = tp / fired if fired else 0.0
        rec = tp / relevant if relevant else 0.0
        worst = min(worst, prec, rec)
        print(
            f"    {label:<14} topic:{BBC_MAP[label]:<27} precision {prec:.3f} ({tp}/{fired})"
            f"  recall {rec:.3f} ({tp}/{relevant})"
        )
    sizes = Counter(len(e) for e in emitted)
    print(
        f"  lowest emitted precision/recall {worst:.3f}; mapped topics emitted per article: "
        + ", ".join(f"{n}: {sizes[n]}" for n in sorted(sizes))
    )
    print(
        "  confusions (gold->pred): "
        + ", ".join(
            f"{g}->{p} {n}" for (g, p), n in Counter((e[0], e[1]) for e in errors).most_common(8)
        )
    )
    for gold_label, label, scores, text in errors[: args.errors]:
        shown = " ".join(f"{k}={v:.1f}" for k, v in scores.items())
        print(f"- {gold_label} -> {label} [{shown}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

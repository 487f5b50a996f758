"""Topic quality on the BBC News set: top-1 accuracy and macro-F1 over its five categories.

    python bench/eval_topics.py --data ../shared/datasets/bbc/val.csv [--config FILE] [--errors N]

Our topics are mapped to BBC's (below). The prediction is the BBC category whose mapped topic
has the highest raw score (children count for their parents); an article with no evidence for
any mapped topic counts as wrong. The file is only read, never trained on.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter

from _common import config_from_args

from wirewatch.transforms.tagging.tagger import Tagger

BBC_MAP = {
    "business": "economy",
    "entertainment": "arts-culture-entertainment",
    "politics": "politics",
    "sport": "sport",
    "tech": "science-technology",
}


def predict(tagger: Tagger, text: str) -> tuple[str, dict]:
    _, counts, _ = tagger.analyze("", text)
    raw = tagger.scorer.raw(counts)
    scores = {bbc: raw.get(ours, 0.0) for bbc, ours in BBC_MAP.items()}
    best = max(scores, key=scores.get)
    return (best if scores[best] > 0 else "none"), scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="BBC CSV with columns text,category")
    parser.add_argument("--config", help="main config (default: the shipped taxonomy)")
    parser.add_argument("--errors", type=int, default=0, help="print N misclassified articles")
    args = parser.parse_args()
    tagger = Tagger.from_config(config_from_args(args.config))
    with open(args.data, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    started = time.perf_counter()
    gold, pred, errors = [], [], []
    for row in rows:
        label, scores = predict(tagger, row["text"])
        gold.append(row["category"])
        pred.append(label)
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

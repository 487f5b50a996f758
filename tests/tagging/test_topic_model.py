"""The numpy topic classifier computes what scikit-learn computes (when it is installed)."""

import math

import pytest

from wirewatch.transforms.tagging import topic_model
from wirewatch.transforms.tagging.text import prepare
from wirewatch.transforms.tagging.topic_model import TopicModel, load, tokens

TEXTS = [
    ("shares fell as the bank cut its profit forecast", "business"),
    ("the bank raised rates and shares rallied on profit", "business"),
    ("the striker scored a late goal in the derby match", "sport"),
    ("the keeper saved a penalty and the team won the match", "sport"),
    ("ministers debated the bill in parliament before the vote", "politics"),
    ("the party leader promised a vote on the bill", "politics"),
    ("the new phone runs faster software on its chip", "tech"),
    ("the actor starred in the film that topped the box office", "entertainment"),
]


@pytest.mark.parametrize("n_texts", [6, 10], ids=["3 categories", "5 categories"])
def test_pure_python_scores_match_scikit_learn(n_texts):
    np = pytest.importorskip("numpy")
    text_module = pytest.importorskip("sklearn.feature_extraction.text")
    linear = pytest.importorskip("sklearn.linear_model")

    def analyzer(text):
        return tokens(prepare("", text).folded)

    vec = text_module.TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float64)
    texts = TEXTS[:n_texts]
    x = vec.fit_transform([t for t, _ in texts])
    clf = linear.LogisticRegression(C=10.0, max_iter=1000).fit(x, [c for _, c in texts])
    categories = [str(c) for c in clf.classes_]
    model = TopicModel.from_json(
        {
            "categories": categories,
            "labels": {c: f"topic-{c}" for c in categories},
            "intercepts": list(clf.intercept_),
            "terms": [
                [term, float(vec.idf_[j]), list(clf.coef_[:, j])]
                for term, j in vec.vocabulary_.items()
            ],
        }
    )
    assert len(categories) == n_texts // 2
    for probe in ["shares and profit at the bank", "a goal in the match", "unknown words only"]:
        expected = clf.predict_proba(vec.transform([probe]))[0]
        got = model.probabilities(prepare("", probe).folded)
        for category, p in zip(categories, expected):
            assert got[f"topic-{category}"] == pytest.approx(p, abs=1e-9)


def test_shipped_model_loads_maps_to_taxonomy_topics_and_sums_to_one():
    model = load()
    assert set(model.topics) == {
        "economy",
        "arts-culture-entertainment",
        "politics",
        "sport",
        "science-technology",
    }
    probabilities = model.probabilities(prepare("Goal!", "the striker scored in the derby").folded)
    assert math.isclose(sum(probabilities.values()), 1.0)
    assert max(probabilities, key=probabilities.get) == "sport"


def _dict_ids(model, folded):
    return sorted(i for i in map(model._index.get, folded.split()) if i is not None)


def _known_ids(model, folded):
    return sorted(i for i in model._ids_of(folded).tolist() if i != model._unknown)


@pytest.mark.parametrize(
    "text",
    [
        "the government said the economy grew, the government said",
        "Tabs\tand\nnewlines\x0bsplit  words the way str.split() does: 2004 000m 10",
        "a b c 1 2 words of one letter are never terms",
        "",
        "   ",
        "Peña Nieto's ministers: an accented name folds to ASCII",
        "Путин and Москва keep their letters: the dict lookup takes these",
        "government " * 3000,  # longer than the array path takes
    ],
)
def test_array_lookup_finds_what_the_dict_finds(text):
    """Words are found by hashing arrays of bytes (topic_model._word_hashes); every token
    must get the vocabulary id a dict lookup of the split word gives."""
    model = load()
    folded = prepare("", text).folded
    assert _known_ids(model, folded) == _dict_ids(model, folded)


def test_array_lookup_on_every_vocabulary_term_and_near_misses():
    model = load()
    vocabulary = sorted(model._index, key=model._index.get)
    words = vocabulary + [w + "x" for w in vocabulary] + [w[:-1] for w in vocabulary]
    for start in range(0, len(words), 500):  # texts the array path takes
        text = " ".join(words[start : start + 500])
        assert len(text) < topic_model._LIMIT
        assert _known_ids(model, text) == _dict_ids(model, text)

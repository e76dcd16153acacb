"""GLOSSARY.md: complete entries (English, Korean, meaning, notebook), in alphabetical order, each
naming a notebook that exists and uses the term; every notebook links to it; no key term is lost.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import course, glossary

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "GLOSSARY.md"
NOTEBOOKS = course.paths()
HANGUL = glossary.HANGUL
NOTEBOOK_REF = re.compile(r"^Notebook (\d\d[a-z]?)$")

# Terms the notebooks teach and learners look up (the Korean notes' vocabulary among them).
# Dropping one from the glossary, or from every notebook, fails a test below.
KEY_TERMS = [
    "accuracy", "backbone", "batch", "BatchNorm", "BCEWithLogitsLoss", "confusion matrix",
    "convolution", "CrossEntropyLoss", "data augmentation", "dataset bias",
    "depthwise-separable convolution", "discriminative learning rates", "dropout", "epoch",
    "feature extractor", "feature map", "feature vector", "fine-tuning", "freezing",
    "from scratch", "Grad-CAM", "gradient", "gradual unfreezing", "head", "ILSVRC", "ImageNet",
    "label noise", "layer group", "learning rate", "linear probe", "logit", "overfitting",
    "parameter", "pooling", "preprocessing", "pretrained", "receptive field", "ReLU",
    "residual connection", "segmentation", "sigmoid", "skip connection", "softmax",
    "stepping freezing", "stratified", "top-1", "top-5", "transfer learning", "validation",
    "WordNet", "zero-shot",
]  # fmt: skip


Entry = glossary.Term
parse = glossary.parse


def problems(entry: Entry, numbers: set[str]) -> list[str]:
    """What is wrong with one entry: a missing part, no Hangul, a notebook that does not exist."""
    found = []
    if not entry.english:
        found.append("no English term")
    if not entry.korean:
        found.append(f"{entry.english!r}: no Korean term")
    elif not HANGUL.search(entry.korean + entry.aliases):
        found.append(f"{entry.english!r}: no Korean term (Hangul)")
    if len(entry.meaning.split()) < 3:
        found.append(f"{entry.english!r}: no definition")
    match = NOTEBOOK_REF.match(entry.first_used)
    if not match:
        found.append(f"{entry.english!r}: 'First used in' should read 'Notebook NN'")
    elif match.group(1) not in numbers:
        found.append(f"{entry.english!r}: notebook {match.group(1)} does not exist")
    return found


def _notebook_text(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


NUMBERS = {path.name.split("_", 1)[0]: path for path in NOTEBOOKS}
ENTRIES = parse(GLOSSARY.read_text(encoding="utf-8"))
TEXTS = {number: _notebook_text(path).lower() for number, path in NUMBERS.items()}


def test_the_glossary_has_entries():
    assert len(ENTRIES) >= 40


def test_every_entry_is_complete():
    found = [problem for entry in ENTRIES for problem in problems(entry, set(NUMBERS))]
    assert not found, "\n".join(found)


def test_a_bad_entry_is_caught():
    """The checks can fail: an entry without Hangul, definition or a real notebook."""
    table = "| English | 한국어 | Also written | Meaning | First used in |\n|---|---|---|---|---|\n"
    bad = parse(table + "| logit | logit | - | | Notebook 99 |")
    assert problems(bad[0], set(NUMBERS)) == [
        "'logit': no Korean term (Hangul)",
        "'logit': no definition",
        "'logit': notebook 99 does not exist",
    ]


def test_entries_are_alphabetical_and_unique():
    keys = [entry.english.casefold() for entry in ENTRIES]
    assert keys == sorted(keys), "keep GLOSSARY.md in alphabetical order"
    assert len(set(keys)) == len(keys), "a term is listed twice"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.english)
def test_the_named_notebook_uses_the_term(entry):
    number = NOTEBOOK_REF.match(entry.first_used).group(1)
    text = TEXTS[number]
    assert any(name.lower() in text for name in entry.names()), (
        f"{entry.first_used} never says {entry.names()}: point {entry.english!r} to the notebook "
        "that teaches it"
    )


# Entries whose word first appears in another sense: the glossary names the notebook of this one.
OTHER_SENSE_FIRST = glossary.OTHER_SENSES


def _prose(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return " ".join(text.split()).lower()  # a term broken over two lines is still the term


_uses = glossary.uses


PROSE = {number: _prose(path) for number, path in NUMBERS.items()}


@pytest.mark.parametrize(
    "entry",
    [entry for entry in ENTRIES if entry.english not in OTHER_SENSE_FIRST],
    ids=lambda entry: entry.english,
)
def test_the_named_notebook_is_where_a_learner_first_meets_the_term(entry):
    first = next(
        (n for n in sorted(PROSE) if any(_uses(name, PROSE[n]) for name in entry.names())), None
    )
    assert entry.first_used == f"Notebook {first}", (
        f"{entry.english!r} is first used in notebook {first}, not {entry.first_used}"
    )


@pytest.mark.parametrize("term", KEY_TERMS)
def test_key_terms_are_in_the_notebooks_and_the_glossary(term):
    assert any(term.lower() in text for text in TEXTS.values()), f"no notebook says {term!r}"
    names = [name.lower() for entry in ENTRIES for name in entry.names()]
    assert any(term.lower() in name for name in names), f"{term!r} is missing from GLOSSARY.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_notebook_links_to_the_glossary(path):
    assert "](../GLOSSARY.md)" in _notebook_text(path), f"{path.name}: link to ../GLOSSARY.md"

"""GLOSSARY.md as data: each term's English names, its Korean form, other Korean forms.

The glossary is the one list of the course's terms and their Korean forms. Its tests read it
through `terms()`, and so does the Korean edition (helpers.translation): a translator is told
which Korean form each cell needs, and a test checks that the form is there. Imports only the
standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GLOSSARY = Path(__file__).resolve().parents[1] / "GLOSSARY.md"
COLUMNS = ("english", "korean", "aliases", "meaning", "first_used")
NO_ALIAS = "-"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Terms whose English word the notebooks also use in another sense: no test can tell from the word
# alone which sense a cell means, so neither "first used in" nor the Korean form is checked.
OTHER_SENSES = {
    "shortcut": "notebook 02's residual shortcut (잔차 연결) and plain English 'a shortcut'",
}


@dataclass(frozen=True)
class Term:
    """One row. english: "a (b) / c" names the term "a", "b" and "c"; korean: the Korean
    edition's form ("x / y" when the English has two halves, "a / c"); aliases: other Korean
    forms, comma-separated ("-" for none); first_used: "Notebook NN"."""

    english: str
    korean: str
    aliases: str
    meaning: str
    first_used: str

    def names(self) -> list[str]:
        """The English names: 'a (b) / c' -> ['a', 'b', 'c']."""
        parts = re.split(r" / |\(|\)", self.english)
        return [part.strip().strip("`") for part in parts if part.strip()]

    def pairs(self) -> list[tuple[str, str]]:
        """(English name, Korean form) for each name. "eval mode / train mode" with "평가 모드
        / 학습 모드" pairs the halves; every other name maps to the whole Korean form."""
        english = [part.strip() for part in self.english.split(" / ")]
        korean = [part.strip() for part in self.korean.split(" / ")]
        if len(english) > 1 and len(english) == len(korean):
            return [
                (name, ko)
                for half, ko in zip(english, korean, strict=True)
                for name in Term(half, ko, "", "", "").names()
            ]
        return [(name, self.korean) for name in self.names()]

    def other_forms(self) -> list[str]:
        if self.aliases in ("", NO_ALIAS):
            return []
        return [alias.strip() for alias in self.aliases.split(",") if alias.strip()]


def parse(text: str) -> list[Term]:
    """The table rows of a glossary in GLOSSARY.md's format, header and rule left out."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    terms = []
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        cells += [""] * (len(COLUMNS) - len(cells))
        terms.append(Term(*cells[: len(COLUMNS)]))
    return terms


def terms(path: Path = GLOSSARY) -> list[Term]:
    return parse(path.read_text(encoding="utf-8"))


def uses(name: str, text: str) -> bool:
    """Whether text says name as a word (a plural too), ignoring case and line breaks; a space
    in the name may be a hyphen in the text ("the transfer-learning tutorial")."""
    text = " ".join(text.split()).lower()
    words = r"[ -]".join(re.escape(word) for word in name.lower().split(" "))
    pattern = r"(?<![a-z0-9])" + words + r"(?:e?s)?(?![a-z0-9])"
    return re.search(pattern, text) is not None

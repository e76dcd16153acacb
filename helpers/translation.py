"""The Korean edition (한국어판): notebooks/ko/, built from the English notebooks and catalogues.

    python -m helpers.translation            # sync the catalogues with the English, build ko/
    python -m helpers.translation --check    # exit 1 if anything is stale or untranslated
    python -m helpers.translation --todo 03  # what notebook 03's catalogue still needs

One catalogue per notebook, ``translations/ko/<stem>.po`` in gettext's format (Poedit, Weblate
and polib read and write it). A markdown cell is one entry: its context (msgctxt) is the cell's
id, its source (msgid) the English markdown, its translation (msgstr) the Korean. A code cell
with comments is one entry too (context "<id> comments", one comment per line): only its
comments are translated, as the Korean PyTorch tutorials do. The code itself and every output
are the English notebook's, so a Korean notebook runs the same code and shows the same results.

Syncing after an English cell changes keeps the old translation as a draft, marks it fuzzy and
records the old English as the previous source (gettext's convention, so a translator sees what
changed); a new cell arrives untranslated; a removed cell's entry is kept as obsolete. Building
refuses a notebook while any of its entries is fuzzy or untranslated, naming each cell: no stale
or missing translation ships. Each entry's comment for translators (``#.``) lists the glossary
terms its English uses, with the Korean form the edition uses (helpers.glossary).

The checks a translation must pass (``problems``; tests/test_translation.py runs them): the
numbers are the English cell's, the glossary's Korean form is used wherever the English uses the
term, written 한글(English) at its first use in a notebook, and none of the known
mistranslations appears. Where a cell uses a term's English word in another sense ("an ant's
head"), the translator says so in the entry's comment, "# not the term: head — an ant's head",
and that word goes unchecked in that cell only. Links that leave the notebooks folder get one
more ``../``, and the README becomes README.ko.md. The launch cells of docs/launch.py are copied
with their Colab and Binder links opening the Korean notebook. README.ko.md's notebook map
(titles, launch links, times) is written from the built notebooks.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import re
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polib

from helpers import course, glossary, pacing

LANGUAGE = "ko"
CATALOGUE_DIR = course.ROOT / "translations" / LANGUAGE
EDITION_DIR = course.NOTEBOOK_DIR / LANGUAGE
README = course.ROOT / f"README.{LANGUAGE}.md"
COMMENTS = " comments"  # the context suffix of a code cell's comments entry
LAUNCH_TAG = "launch"  # docs/launch.py's cells: copied, opening the Korean notebook instead
FUZZY = "fuzzy"
MAP_START = "<!-- notebook map: written by python -m helpers.translation -->"
MAP_END = "<!-- end of notebook map -->"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Words that scale a number, so that "14 million" and "1,400만" are the same number.
ENGLISH_SCALES = {"million": 10**6, "billion": 10**9, "M": 10**6}
# Numbers the English spells out: Korean may write them as words (두 배) or as numerals (2분), so
# they may be matched but are not required.
ENGLISH_NUMBER_WORDS = {word: value for value, word in enumerate(course.NUMBER_WORDS)} | {
    "twice": 2,
    "half": 0.5,
    "hundred": 100,
    "thousand": 1000,
}
KOREAN_SCALES = {"만": 10**4, "백만": 10**6, "억": 10**8}
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
HTML_TAG = re.compile(r"<[^>\n]*>")
# Comments that are instructions to a tool, not to a reader: never translated.
DIRECTIVE = re.compile(r"#\s*(NBVAL_\w+|noqa\b|fmt:|type:|pragma\b|pyright:)")
# Korean mistranslations seen in ML texts: (pattern in the Korean, unless the English matches, why)
MISTRANSLATIONS = (
    (r"일반화", r"generali[sz]", "일반화 is generalisation; normalisation is 정규화"),
    (r"데이터\s*증가|증가\s*\(\s*augment", None, "augmentation is 증강, not 증가"),
    (r"(?<![\d.,])100\s*개의?\s*(클래스|범주|부류)", None, "ImageNet-1k has 1000 classes, not 100"),
    (r"지름길\s*학습", r"shortcut learning", "the cue is 지름길 단서; 지름길 학습 is learning one"),
    (r"정규화", r"normali[sz]|batchnorm|batch norm", "regularisation is 규제; 정규화 normalises"),
)


@dataclass(frozen=True)
class Source:
    """One translatable unit of an English notebook: a markdown cell or a code cell's comments."""

    context: str
    english: str
    kind: str  # "markdown" or "comments"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(notebook: dict) -> str:
    """JSON as Jupyter, nbconvert and docs/launch.py write it."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _source(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _is_launch(cell: dict) -> bool:
    return LAUNCH_TAG in cell.get("metadata", {}).get("tags", [])


def korean_launch_cell(cell: dict, file: str) -> dict:
    """A launch cell of docs/launch.py with its Colab and Binder links opening the Korean
    notebook (notebooks/ko/<file>) instead of the English one; nothing to translate in it."""
    text = json.dumps(cell, ensure_ascii=False)
    text = text.replace(f"notebooks/{file}", f"notebooks/{LANGUAGE}/{file}")
    text = text.replace(f"notebooks%2F{file}", f"notebooks%2F{LANGUAGE}%2F{file}")
    return json.loads(text)


def comments(code: str) -> list[tokenize.TokenInfo]:
    """The comments of a code cell a reader reads, in order (Python's tokenizer, so a # in a
    string is not one; tool directives such as NBVAL_CHECK_OUTPUT are left out)."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return [
        token
        for token in tokens
        if token.type == tokenize.COMMENT and not DIRECTIVE.match(token.string)
    ]


def code_tokens(code: str) -> list[tuple[int, str]]:
    """A code cell's tokens without comments or layout: equal for two cells whose code is the
    same once comments are removed."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return [(token.type, token.string) for token in tokens if token.type not in skip]


def sources(notebook: dict) -> list[Source]:
    """What a notebook gives its translators, in cell order."""
    found = []
    for cell in notebook["cells"]:
        if _is_launch(cell):
            continue
        if cell["cell_type"] == "markdown":
            found.append(Source(cell["id"], _source(cell), "markdown"))
        elif cell["cell_type"] == "code":
            lines = [token.string for token in comments(_source(cell))]
            if lines:
                found.append(Source(cell["id"] + COMMENTS, "\n".join(lines), "comments"))
    return found


def prose(markdown: str) -> str:
    """Markdown without code, link targets and HTML tags: the words a term check reads."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = INLINE_CODE.sub(" ", text)
    text = LINK_TARGET.sub("]", text)
    return HTML_TAG.sub(" ", text)


def _unquoted(text: str) -> str:
    """text without what it quotes ("a row's name", a paper's title): kept in English in the
    Korean, so no Korean term is asked of it."""
    return re.sub(r'"[^"\n]*"|“[^”]*”', " ", text)


def _terms() -> list[tuple[glossary.Term, str, str]]:
    """(term, English name, Korean form) for every checked name of the glossary."""
    return [
        (term, name, korean)
        for term in glossary.terms()
        if term.english not in glossary.OTHER_SENSES
        for name, korean in term.pairs()
    ]


def terms_used(english: str) -> list[tuple[glossary.Term, str, str]]:
    """The glossary names an English cell uses (in its prose, quotes left out), with their
    Korean forms."""
    words = _unquoted(prose(english))
    return [entry for entry in _terms() if glossary.uses(entry[1], words)]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def _has_form(korean_text: str, form: str) -> bool:
    return _squeezed(form) in _squeezed(korean_text)


def _first_use_written(korean_text: str, form: str, names: list[str]) -> bool:
    """Whether korean_text writes form 한글(English): the Korean, then parentheses that hold one
    of the English names ("top-5 정확도(top-5 accuracy)" introduces 정확도 too; spaces free)."""
    gap = r"\s*"
    korean = gap.join(re.escape(char) for char in re.sub(r"\s+", "", form))
    english = "|".join(re.escape(name) for name in names)
    return re.search(rf"{korean}[^\s(]*{gap}\([^)]*?(?:{english})", korean_text, re.I) is not None


def _value(written: str, scale: int = 1) -> str:
    try:
        return f"{float(written.replace(',', '')) * scale:.10g}"
    except ValueError:  # not one number ("2.14.1"): as written
        return written


def number_readings(text: str, scales: dict[str, int]) -> list[tuple[str, str | None]]:
    """Each number text states: (its value as written, its value with the scale word after it
    applied, or None). "1.28 million" and "128만" both read 1280000; a Korean 만 after a number
    can also be the particle "only" ("top-1만"), so both readings are kept."""
    words = "|".join(re.escape(word) for word in sorted(scales, key=len, reverse=True))
    pattern = rf"(\d+(?:[.,]\d+)*)(?:\s?({words})(?![A-Za-z큼]))?"
    return [
        (_value(m.group(1)), _value(m.group(1), scales[m.group(2)]) if m.group(2) else None)
        for m in re.finditer(pattern, text)
    ]


def numbers(text: str, scales: dict[str, int]) -> Counter:
    """The numbers text states, by value, each read with its scale word."""
    return Counter(scaled or plain for plain, scaled in number_readings(text, scales))


def number_difference(english: str, korean: str) -> tuple[list[str], list[str]]:
    """(numbers the English states and the Korean does not, numbers only the Korean states),
    each Korean number taken in the reading the English has. A number the English spells out
    ("two minutes", "zero") may be a numeral in the Korean ("2분", "0으로"), or not."""
    remaining = numbers(english, ENGLISH_SCALES)
    words = [
        "zero" if word.lower().startswith("zero") else word.lower()  # "zeroes", "zero-initialised"
        for word in re.findall(r"[A-Za-z]+", english)
    ]
    spelled = Counter(
        _value(str(ENGLISH_NUMBER_WORDS[word])) for word in words if word in ENGLISH_NUMBER_WORDS
    )
    extra = []
    for plain, scaled in number_readings(korean, KOREAN_SCALES):
        for reading, pool in ((scaled, remaining), (plain, remaining), (plain, spelled)):
            if reading is not None and pool[reading] > 0:
                pool[reading] -= 1
                break
        else:
            extra.append(scaled or plain)
    return sorted(remaining.elements()), sorted(extra)


def _without_glosses(korean: str) -> str:
    """korean without the "(English)" glosses of glossary terms: the digits of "top-5 정확도(top-5
    accuracy)" are the term's, counted once."""
    names = sorted({name for _, name, _ in _terms()}, key=len, reverse=True)
    pattern = r"\(\s*(?:" + "|".join(re.escape(name) for name in names) + r")(?:e?s)?\s*\)"
    return re.sub(pattern, "", korean, flags=re.I)


NOT_THE_TERM = re.compile(r"^not the term:\s*(?P<names>[^—]+)", re.M)


def not_the_term(translator_comment: str) -> set[str]:
    """English words a translator marked as used in another sense in this cell, from the entry's
    translator comment: "# not the term: head — an ant's head, not a classifier"."""
    return {
        name.strip().lower()
        for match in NOT_THE_TERM.finditer(translator_comment or "")
        for name in match["names"].split(",")
        if name.strip()
    }


def check_entry(
    english: str, korean: str, seen: set[str], other_sense: frozenset[str] = frozenset()
) -> list[str]:
    """What is wrong with one markdown translation. seen: the Korean forms already introduced in
    this notebook (updated here), for the 한글(English) rule at a term's first use; other_sense:
    English names this cell uses in another sense (not_the_term), left unchecked."""
    found = []
    missing, extra = number_difference(english, _without_glosses(korean))
    if missing or extra:
        found.append(f"numbers differ from the English: missing {missing}, extra {extra}")
    korean_words = prose(korean)
    for term, name, form in terms_used(english):
        if name.lower() in other_sense:
            continue
        if not glossary.HANGUL.search(form):  # kept in English (GPU, ReLU): the name itself
            if not glossary.uses(name, korean_words) and not _has_form(korean_words, form):
                found.append(f"{name!r} should stay {form!r} in the Korean")
            continue
        if not _has_form(korean_words, form):
            found.append(f"{name!r} should be {form!r} (GLOSSARY.md)")
        elif form not in seen and not _first_use_written(korean_words, form, term.names()):
            found.append(f"first use of {form!r} in this notebook: write {form}({name})")
        seen.add(form)
    for pattern, unless, why in MISTRANSLATIONS:
        if re.search(pattern, korean_words) and not (unless and re.search(unless, english, re.I)):
            found.append(why)
    return found


def check_comments(english: str, korean: str) -> list[str]:
    english_lines = english.split("\n")
    korean_lines = korean.split("\n")
    if len(english_lines) != len(korean_lines):
        return [f"{len(english_lines)} comments in the English, {len(korean_lines)} in the Korean"]
    return [
        f"comment {n}: {line!r} is not a comment"
        for n, line in enumerate(korean_lines, 1)
        if not line.startswith("#")
    ]


def differences(english: dict, korean: dict, file: str) -> list[str]:
    """How a Korean notebook departs from its English one (file: their name) beyond the
    translation: cells added, lost or reordered, code that differs once comments are removed,
    outputs, metadata, launch cells. Empty for a notebook this module built."""
    if [c["id"] for c in english["cells"]] != [c["id"] for c in korean["cells"]]:
        return ["cells differ: not the English cells in the English order"]
    found = []
    for ours, theirs in zip(english["cells"], korean["cells"], strict=True):
        where = f"cell {ours['id']}"
        if _is_launch(ours):
            if theirs != korean_launch_cell(ours, file):
                found.append(f"{where}: not the English launch cell opening the Korean notebook")
            continue
        if ours["cell_type"] != theirs["cell_type"]:
            found.append(f"{where}: {theirs['cell_type']}, the English is {ours['cell_type']}")
            continue
        for key in ("metadata", "outputs", "execution_count", "attachments"):
            if ours.get(key) != theirs.get(key):
                found.append(f"{where}: its {key} differ from the English")
        if ours["cell_type"] == "code":
            if code_tokens(_source(ours)) != code_tokens(_source(theirs)):
                found.append(f"{where}: its code differs from the English once comments go")
        elif (
            ours["cell_type"] == "markdown"
            and re.search(r"[A-Za-z]{3}", prose(_source(ours)))
            and not glossary.HANGUL.search(_source(theirs))
        ):
            found.append(f"{where}: not translated (no Korean in it)")
    if english.get("metadata") != korean.get("metadata"):
        found.append("the notebook's metadata differ from the English")
    return found


def catalogue_path(stem: str) -> Path:
    return CATALOGUE_DIR / f"{stem}.po"


def _new_catalogue(stem: str) -> polib.POFile:
    catalogue = polib.POFile(wrapwidth=100)
    catalogue.metadata = {
        "Project-Id-Version": f"transfer-course {stem}",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return catalogue


def _translator_note(source: Source) -> str:
    if source.kind == "comments":
        return "Comments of a code cell, one per line: translate each, keep the '#'."
    used = terms_used(source.english)
    if not used:
        return ""
    return "terms: " + "; ".join(f"{name} = {form}" for _, name, form in used)


def sync(stem: str, english: dict, catalogue: polib.POFile | None = None) -> polib.POFile:
    """The catalogue brought in step with the English notebook (see the module docstring)."""
    old = catalogue if catalogue is not None else _new_catalogue(stem)
    by_context = {entry.msgctxt: entry for entry in old if not entry.obsolete}
    synced = _new_catalogue(stem)
    synced.metadata = dict(old.metadata) or synced.metadata
    for source in sources(english):
        entry = by_context.pop(source.context, None)
        if entry is None:
            entry = polib.POEntry(msgctxt=source.context, msgid=source.english, msgstr="")
        elif entry.msgid != source.english:
            if entry.msgstr and FUZZY not in entry.flags:
                entry.previous_msgid = entry.msgid
                entry.flags.append(FUZZY)
            entry.msgid = source.english
        entry.comment = _translator_note(source)
        entry.occurrences = []
        synced.append(entry)
    for entry in list(by_context.values()) + [entry for entry in old if entry.obsolete]:
        entry.obsolete = True
        synced.append(entry)
    return synced


def load(stem: str) -> polib.POFile | None:
    path = catalogue_path(stem)
    return polib.pofile(str(path), wrapwidth=100) if path.exists() else None


def todo(stem: str, english: dict, catalogue: polib.POFile) -> list[str]:
    """Every problem of a catalogue against its English notebook, one line each, naming the
    cell: untranslated, fuzzy (the English changed), and every check of check_entry."""
    found = []
    seen: set[str] = set()
    entries = {entry.msgctxt: entry for entry in catalogue if not entry.obsolete}
    for source in sources(english):
        where = f"{stem} cell {source.context}"
        entry = entries.get(source.context)
        first_line = source.english.strip().splitlines()[0][:60] if source.english.strip() else ""
        if entry is None or entry.msgid != source.english:
            found.append(f"{where}: not in the catalogue as it is now (sync it)")
        elif not entry.msgstr.strip():
            found.append(f"{where}: untranslated ({first_line!r})")
        elif FUZZY in entry.flags:
            found.append(f"{where}: fuzzy, the English changed ({first_line!r})")
        elif source.kind == "comments":
            found += [f"{where}: {p}" for p in check_comments(source.english, entry.msgstr)]
        else:
            other_sense = frozenset(not_the_term(entry.tcomment))
            checked = check_entry(source.english, entry.msgstr, seen, other_sense)
            found += [f"{where}: {p}" for p in checked]
    return found


def _relinked(markdown: str) -> str:
    """Links as seen from notebooks/ko/: one more ../ out of the notebooks folder, and the
    README's Korean edition."""
    markdown = re.sub(r"\]\(\.\./", "](../../", markdown)
    return markdown.replace("](../../README.md", f"](../../README.{LANGUAGE}.md")


def _with_comments(code: str, korean: list[str]) -> str:
    lines = code.splitlines(keepends=True)
    for token, text in reversed(list(zip(comments(code), korean, strict=True))):
        row, column = token.start
        line = lines[row - 1]
        lines[row - 1] = line[:column] + text + line[column + len(token.string) :]
    return "".join(lines)


def _as_source_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def build_notebook(english: dict, catalogue: polib.POFile, file: str) -> dict:
    """The Korean notebook (file: its name): the English one with its markdown and comments
    translated and its launch cells opening it. The catalogue must be complete and in step
    (todo() lists nothing untranslated or fuzzy)."""
    entries = {entry.msgctxt: entry for entry in catalogue if not entry.obsolete}
    korean = copy.deepcopy(english)
    cells = []
    for cell in korean["cells"]:
        if _is_launch(cell):
            cell = korean_launch_cell(cell, file)
        elif cell["cell_type"] == "markdown":
            cell["source"] = _as_source_lines(_relinked(entries[cell["id"]].msgstr))
        elif cell["cell_type"] == "code" and cell["id"] + COMMENTS in entries:
            translated = entries[cell["id"] + COMMENTS].msgstr.split("\n")
            cell["source"] = _as_source_lines(_with_comments(_source(cell), translated))
        cells.append(cell)
    korean["cells"] = cells
    return korean


def _blocking(problems: list[str]) -> list[str]:
    words = ("untranslated", "fuzzy", "not in the catalogue", "comments in the English")
    return [problem for problem in problems if any(word in problem for word in words)]


def korean_title(notebook: dict) -> str:
    for line in _source(notebook["cells"][0]).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError("the first cell has no '# ' title")


def readme_map(built: dict[str, dict]) -> str:
    """README.ko.md's notebook table: number, Korean title linked to its notebook, minutes."""

    rows = ["| # | 노트북 | 열기 | 예상 시간 |", "|---|---|---|---:|"]
    for notebook in course.NOTEBOOKS:
        if notebook.stem not in built:
            continue
        title = korean_title(built[notebook.stem]).split("·", 1)[-1].strip()
        title = re.sub(r"\([A-Za-z][A-Za-z' -]*\)", "", title)  # its 한글(English) glosses
        minutes = pacing.estimate(notebook.path()).rounded
        link = f"notebooks/{LANGUAGE}/{notebook.file}"
        launch = _launch_links(built[notebook.stem])
        rows.append(f"| {notebook.label} | [{title}]({link}) | {launch} | 약 {minutes}분 |")
    return "\n".join(rows)


def _launch_links(korean: dict) -> str:
    """The map's "열기" column: the Korean notebook's Colab and Binder links, from its launch
    cell; "공개 후" (after publishing) while the course has no public address and so none."""
    for cell in korean["cells"]:
        if _is_launch(cell) and cell["cell_type"] == "markdown":
            colab = re.search(
                r"\]\((https://colab\.research\.google\.com/[^)\s]+)\)", _source(cell)
            )
            binder = re.search(r"\]\((https://mybinder\.org/[^)\s]+)\)", _source(cell))
            if colab and binder:
                return f"[Colab]({colab.group(1)}) · [Binder]({binder.group(1)})"
    return "공개 후"


def _with_map(readme: str, table: str) -> str:
    start, end = readme.index(MAP_START), readme.index(MAP_END)
    return readme[: start + len(MAP_START)] + "\n" + table + "\n" + readme[end:]


def _shown(path: Path) -> str:
    return str(path.relative_to(course.ROOT)) if path.is_relative_to(course.ROOT) else str(path)


def run(check: bool = False) -> list[str]:
    """Sync every catalogue and build every Korean notebook (check: change nothing, report what
    is stale). Returns the problems that block the build or make it stale."""
    problems = []
    built = {}
    for notebook in course.NOTEBOOKS:
        english = _read(notebook.path())
        stored = load(notebook.stem)
        synced = sync(notebook.stem, english, copy.deepcopy(stored) if stored else None)
        path = catalogue_path(notebook.stem)
        if stored is None or str(synced) != str(stored):
            if check:
                problems.append(f"{_shown(path)}: out of step with the English")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                synced.save(str(path))
        blocking = _blocking(todo(notebook.stem, english, synced))
        problems += blocking
        target = notebook.path(EDITION_DIR)
        if blocking:
            continue
        korean = build_notebook(english, synced, notebook.file)
        built[notebook.stem] = korean
        text = _dump(korean)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            if check:
                problems.append(f"{_shown(target)}: stale (rebuild it)")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    strays = sorted(
        path.name
        for path in EDITION_DIR.glob("*.ipynb")
        if path.name not in {notebook.file for notebook in course.NOTEBOOKS}
    )
    problems += [
        f"notebooks/{LANGUAGE}/{name}: no English notebook of that name" for name in strays
    ]
    if README.exists() and len(built) == len(course.NOTEBOOKS):
        readme = README.read_text(encoding="utf-8")
        updated = _with_map(readme, readme_map(built))
        if updated != readme:
            if check:
                problems.append(f"{README.name}: its notebook map is stale")
            else:
                README.write_text(updated, encoding="utf-8")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--todo", metavar="NN", help="every problem of one notebook's catalogue")
    args = parser.parse_args(argv)
    if args.todo:
        notebook = course.by_number(args.todo)
        english = _read(notebook.path())
        catalogue = sync(notebook.stem, english, load(notebook.stem))
        found = todo(notebook.stem, english, catalogue)
        print("\n".join(found) or f"{notebook.stem}: nothing to do")
        return 1 if found else 0
    problems = run(check=args.check)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problems: the Korean edition is not up to date", file=sys.stderr)
        return 1
    print(f"Korean edition up to date: {len(course.NOTEBOOKS)} notebooks in {EDITION_DIR.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

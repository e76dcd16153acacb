"""Claims check: every number a notebook's prose states is backed by that notebook, or sourced.

WHAT IS CHECKED. Every markdown cell of every notebooks/*.ipynb, solution boxes included, is split
into sentences (a table row or a list item is at least one). Each number in a sentence must
appear, as written or rounded, in one of:
  (a) an output of the same notebook: stream text, text/plain, text/markdown (not images);
  (b) a code cell of the same notebook (a setting its code states: SIZE = 224);
  (c) a saved table it loads: for results.load_study("NAME") in its code, every number in
      helpers/study_results/NAME.json.
Formats: 1,297 == 1297; a source rounds to a claim (0.9739 backs 0.974, 97.4% and 97%); a
proportion and a percentage back each other (0.974 <-> 97.4%, 0.0065 <-> 0.65 points); "4.7 M"
and "1.28 million" match a count that rounds to them in millions (4,652,008) or a printed "4.7M".
A claim is never backed by a less precise source: a printed 0.97 does not back 0.974, nor 1.0
back 1.000. Signs are ignored (-3.9 is 3.9).

NOT CLAIMS (skipped): inline and fenced code, link targets, URLs, HTML tags, the numbering of
headings ("## 3.") and of list items ("1. resize"), the "**Time:**" line (tests/test_pacing.py
checks it), a "References" section, parts of names and versions (ResNet-18, Lite0, top-5,
IMAGENET1K_V1, 5.24.0, inception (3a)), ordinals (1st, 97.5th), years (1950-2030 written
without a comma: write such counts as 1,997), and numbered references (Exercise 2, section 3, §3,
notebook 04, any zero-padded 0N), which are checked as cross-references below instead. Single
digits are checked like any number, but nearly always appear somewhere in the code: the net is
loose for them by design. "e.g." or "for example" exempts nothing.

OUTSIDE FACTS (a paper's result, a library's default, the tutorial's numbers): the sentence
carries its source, and then its numbers are not checked. A source is
  - a link to a web page, [text](https://...), or <https://...>;
  - a citation: "(Author et al., 2019)", "(Author, 2014)", "(Author & Other, 2011)",
    "(Author et al., CVPR 2009)", "Author et al. (2019)", "Author and Other (2019)";
  - an explicit "(source: ...)", e.g. "(source: the PyTorch tutorial)".
A source that is a file of this repository, "(source: benchmarks/README.md)" or a link
[...](../benchmarks/README.md), exempts nothing: the sentence's numbers must then appear in that
file (or in the notebook). Prefer giving a sentence its source to rewording away its number.

CROSS-REFERENCES, in the same prose: "section N", "sections N and M", "§N" name a heading "N. ..."
of the same notebook ("notebook NN's section N", "section N of notebook NN": of that one); every
zero-padded notebook number ("notebooks 03 to 05", "05 compares", "[04](...)") names a notebook
in notebooks/; a link [NN](NN_name.ipynb) names its own file. tests/test_cross_references.py
already checks "notebook NN" and .ipynb names in every text of the course; its list of notebook
numbers is reused here.

LIMITS. A number is backed when it appears anywhere in the notebook, not necessarily as the same
quantity: coincidences pass (small counts; any k/153 accuracy). Sentences are split
heuristically. Only millions are scaled (not k, MB or GB). "notebook 4" (one digit) is not
checked.

RUN: pytest tests/test_claims.py (under a second; no notebook is executed). Every finding, one
tab-separated line each (notebook, cell, number, sentence): python -m tests.test_claims
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple

import pytest

from helpers import course
from tests.test_cross_references import NUMBERS as NOTEBOOK_NUMBERS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
RESULTS_DIR = ROOT / "helpers" / "study_results"
NOTEBOOKS = course.paths()


class Finding(NamedTuple):
    notebook: str
    cell: int
    number: str  # the number as written, or the reference ("section 9", "notebook 07")
    sentence: str

    def line(self) -> str:
        return f"{self.notebook}\tcell {self.cell}\t{self.number}\t{self.sentence}"


# ---------------------------------------------------------------------------------------------
# Numbers, and the keys they match by

# A number as written in prose or printed by code: 1,297 / 0.974 / 3e-4 / 12.
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d])|\d+(?:\.\d+)?(?:[eE]-?\d+)?")
MAX_DECIMALS = 6  # a source is rounded to at most this many places
# Letters that may follow a number without making it part of a name (3x3, 9.3x, 20.1 s, 45 MB).
UNITS = {"x", "s", "ms", "px", "M", "MB", "GB", "KB", "kB", "k", "min", "h", "GFLOPS", "GFLOP"}
ORDINAL = re.compile(r"(?:st|nd|rd|th)\b")
MILLIONS = re.compile(r"\s?(?:M\b|million\b)")


def _decimal(token: str) -> tuple[Decimal, int]:
    """The value of a number token and how many decimal places it was written with."""
    value = Decimal(token.replace(",", ""))
    if "e" in token.lower():
        value = value.normalize()  # 3e-4 -> 0.0003: four places
    return value, max(-value.as_tuple().exponent, 0)


def _text_of(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def _rounded(value: Decimal, places: int) -> set[str]:
    """The texts value can be printed as with places decimals or fewer (both ways of rounding)."""
    keys = set()
    for p in range(min(places, MAX_DECIMALS) + 1):
        step = Decimal(1).scaleb(-p)
        for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            keys.add(_text_of(value.quantize(step, rounding=rounding), p))
    return keys


def source_keys(token: str, millions: bool = False) -> set[str]:
    """Every claim text that a number printed as token backs up (none for a token that only
    looks like a number in exponent form, such as "93e860" inside a hex file name)."""
    value, places = _decimal(token)
    if abs(value.adjusted()) > 15:
        return set()
    if millions:
        value, places = value * Decimal(10**6), max(places - 6, 0)
    keys = _rounded(value, places)
    if value <= 1:  # a proportion as a percentage: 0.974 -> 97.4
        keys |= _rounded(value.scaleb(2), max(places - 2, 0))
    if value <= 100:  # a percentage as a proportion: 97.4 -> 0.974 (not 0.97 -> "1")
        keys |= {k for k in _rounded(value.scaleb(-2), places + 2) if len(k) > 3}
    if value >= 10**5:  # 4,652,008 -> "M:4.7"
        keys |= {"M:" + k for k in _rounded(value.scaleb(-6), places + 6)}
    return keys


def evidence_in(text: str) -> set[str]:
    """The keys of every number in text (an output, a code cell, a saved table, a file)."""
    keys: set[str] = set()
    for match in NUMBER.finditer(text):
        token = match.group()
        if "," in token:  # 1,297 or a list 1,297 written without spaces: both
            for part in token.split(","):
                keys |= source_keys(part)
        keys |= source_keys(token, millions=bool(MILLIONS.match(text, match.end())))
    return keys


def claim_key(text: str, match: re.Match) -> str | None:
    """The key a number in prose must match, or None when it is not a claim (a name, a year)."""
    start, end, token = match.start(), match.end(), match.group()
    before = text[max(start - 2, 0) : start]
    after = text[end:]
    if before[-1:] in {".", "_", "/", "#", "^"} or (before[-1:].isalpha() and before[-1:] != "x"):
        return None  # a version (5.24.0), a path, a name (Lite0, V2)
    if before[-1:] == "x" and not before[:1].isdigit():
        return None  # a name ending in x, not 224x224
    if before[-1:] == "-" and before[:1].isalpha():
        return None  # ResNet-18, top-5
    if re.match(r"\.\d", after):
        return None  # 5.24.0
    word = re.match(r"[A-Za-z]+", after)
    if ORDINAL.match(after):
        return None
    if word and word.group() not in UNITS and not re.match(r"x\d", after):
        return None  # 3a, 2D, 1k
    value, places = _decimal(token)
    if "," not in token and places == 0 and 1950 <= value <= 2030 and not after.startswith("%"):
        return None  # a year
    if re.fullmatch(r"0\d", token):
        return None  # a notebook number: a cross-reference
    if MILLIONS.match(after):
        return "M:" + _text_of(value, places)
    return _text_of(value, places)


# ---------------------------------------------------------------------------------------------
# Prose: markdown cells into sentences

FENCE = re.compile(r"^\s*```.*?^\s*```[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`+[^`]*`+")
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
AUTOLINK = re.compile(r"<(https?://[^>]+)>")
URL = re.compile(r"https?://[^\s)>\]]+")
TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
HEADING = re.compile(r"^(#{1,6})\s+(?:(\d+)\.(?:\d+\.?)*\s+)?(.*)$")
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*_\"'(\[`<])")
ABBREVIATION = re.compile(r"(?:\bet al|\be\.g|\bi\.e|\bvs|\bcf|\bapprox|\bFig|\bNo)\.$")

# An author's surname: Efros, Dollár, Fei-Fei (not ResNet, VGG or LeNet-5, which are models).
NAME = r"[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?"
YEAR = r"(?:19|20)\d\d[a-z]?"
AUTHORS = rf"{NAME}(?: et al\.)?(?:(?:,| and| &) {NAME})*"  # Kornblith, Shlens and Le
CITATIONS = [
    # (Author et al., 2019), (Author, 2014), (Deng et al., CVPR 2009), ("LP-FT", Kumar et al. 2022)
    re.compile(rf"\([^()]*\b{AUTHORS},? (?:[A-Z]{{2,}} )?{YEAR}\b[^()]*\)"),
    # Author et al. (2019), Author and Other (2019)
    re.compile(rf"\b{AUTHORS} \({YEAR}\)"),
]
EXPLICIT_SOURCE = re.compile(r"\(source:\s*([^)]*)\)", re.I)
# "Exercise 2", "sections 3 and 4", "§3", "notebooks 03 to 05", "Notebook 4".
NUMBERED = re.compile(
    r"(?:\b(?:[Ee]xercises?|[Ss]ections?|[Nn]otebooks?|[Pp]arts?|[Cc]hapters?|[Ff]igures?)\s+|§\s*)"
    r"\d+[a-z]?(?:\s*(?:,|and|or|to|-|–)\s*\d+[a-z]?\b)*"
)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def markdown_blocks(markdown: str) -> Iterator[str]:
    """The prose of one markdown cell: headings, paragraphs, list items and table rows."""
    markdown = FENCE.sub("\n", markdown)
    block: list[str] = []
    skipping_level = 0  # inside a References section: its heading's level
    for line in markdown.splitlines():
        heading = HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if skipping_level and level > skipping_level:
                continue
            skipping_level = level if heading.group(3).strip() == "References" else 0
        if skipping_level:
            continue
        starts_block = (
            not line.strip()
            or heading
            or LIST_MARKER.match(line)
            or line.lstrip().startswith("|")
            or line.startswith("**Time:**")
        )
        if starts_block and block:
            yield " ".join(block)
            block = []
        if heading:
            yield heading.group(3)
        elif line.startswith("**Time:**") or TABLE_RULE.match(line):
            continue
        elif line.lstrip().startswith("|"):
            yield line.strip()
        elif line.strip():
            block.append(LIST_MARKER.sub("", line).strip())
    if block:
        yield " ".join(block)


def sentences(markdown: str) -> Iterator[str]:
    for block in markdown_blocks(markdown):
        pending = ""
        for piece in SENTENCE_END.split(block):
            pending = f"{pending} {piece}".strip()
            if not ABBREVIATION.search(pending):
                yield pending
                pending = ""
        if pending:
            yield pending


def plain(sentence: str) -> str:
    """The sentence without what is not prose: code, link targets, URLs, HTML tags."""
    text = CODE_SPAN.sub(" ", sentence)
    text = IMAGE.sub(" ", text)
    text = AUTOLINK.sub(" ", text)
    text = LINK.sub(r"\1", text)
    text = URL.sub(" ", text)
    return TAG.sub(" ", text)


def _unquoted(sentence: str) -> str:
    return CODE_SPAN.sub(lambda span: span.group().strip("`"), sentence)


def cited(sentence: str) -> bool:
    """The sentence carries an outside source: a web link, a citation, a (source: ...)."""
    text = _unquoted(sentence)
    if URL.search(text) or any(citation.search(text) for citation in CITATIONS):
        return True
    return any(not _repository_file(name) for name in EXPLICIT_SOURCE.findall(text))


def _repository_file(name: str) -> Path | None:
    name = name.strip().strip("`").split("#")[0]
    if not name or name.endswith(".ipynb") or "://" in name:
        return None
    for base in (NOTEBOOK_DIR, ROOT):
        path = (base / name).resolve()
        if path.is_file() and ROOT in path.parents:
            return path
    return None


def repository_sources(sentence: str) -> list[Path]:
    """Files of this repository the sentence names as its source; their numbers back it."""
    text = _unquoted(sentence)
    names = EXPLICIT_SOURCE.findall(text) + [target for _, target in LINK.findall(text)]
    return [path for path in map(_repository_file, names) if path]


def claims(sentence: str) -> Iterator[tuple[str, str]]:
    """(number as written, key to match) for every number the sentence claims."""
    text = NUMBERED.sub(" ", plain(sentence))
    for match in NUMBER.finditer(text):
        key = claim_key(text, match)
        if key is not None:
            yield match.group(), key


# ---------------------------------------------------------------------------------------------
# A notebook: its evidence, its claims, its cross-references

LOAD_STUDY = re.compile(r"""load_study\(\s*["']([\w-]+)["']""")


def output_texts(cell: dict) -> Iterator[str]:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            yield _source({"source": output.get("text", "")})
        for mime in ("text/plain", "text/markdown"):
            if mime in output.get("data", {}):
                yield _source({"source": output["data"][mime]})


def evidence(notebook: dict, results_dir: Path = RESULTS_DIR) -> set[str]:
    """Keys of every number the notebook prints, states in code, or loads from a saved table."""
    texts = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            code = _source(cell)
            texts.append(code)
            texts.extend(output_texts(cell))
            for study in LOAD_STUDY.findall(code):
                path = results_dir / f"{study}.json"
                if path.is_file():
                    texts.append(path.read_text(encoding="utf-8"))
    keys: set[str] = set()
    for text in texts:
        keys |= evidence_in(text)
    return keys


_FILE_EVIDENCE: dict[Path, set[str]] = {}


def _file_evidence(path: Path) -> set[str]:
    if path not in _FILE_EVIDENCE:
        _FILE_EVIDENCE[path] = evidence_in(path.read_text(encoding="utf-8"))
    return _FILE_EVIDENCE[path]


def unbacked_numbers(notebook: dict, name: str, results_dir: Path = RESULTS_DIR) -> list[Finding]:
    """Every number in the prose that neither the notebook nor a cited source backs."""
    keys = evidence(notebook, results_dir)
    findings = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for sentence in sentences(_source(cell)):
            if cited(sentence):
                continue
            extra: set[str] = set()
            for path in repository_sources(sentence):
                extra |= _file_evidence(path)
            for written, key in claims(sentence):
                if key not in keys and key not in extra:
                    findings.append(Finding(name, index, written, sentence))
    return findings


SECTION = re.compile(
    r"(?:(?P<nb>\b\d\d[a-z]?)'s\s+)?(?:\b[Ss]ections?\s+|§\s*)"
    r"(?P<numbers>\d+(?:\.\d+)?(?:\s*(?:,|and|or|to|-|–)\s*\d+(?:\.\d+)?\b)*)"
    r"(?:\s+of\s+(?:[Nn]otebook\s+)?(?P<of>\d\d[a-z]?)\b)?"
)
NOTEBOOK_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*?(\d\d[a-z]?)_[\w-]*\.ipynb)[^)]*\)")
ZERO_PADDED = re.compile(r"(?<![\w.,])(?<![A-Za-z]-)0\d[a-z]?(?![\w.,%])")


def section_numbers(notebook: dict) -> set[str]:
    """The numbers of the notebook's numbered headings, "## 3. Fixed feature ..." -> "3"."""
    numbers = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in FENCE.sub("", _source(cell)).splitlines():
                heading = HEADING.match(line)
                if heading and heading.group(2):
                    numbers.add(heading.group(2))
    return numbers


def broken_references(
    notebook: dict,
    name: str,
    sections_of: dict[str, set[str]] | None = None,
    existing: Iterable[str] = NOTEBOOK_NUMBERS,
) -> list[Finding]:
    """Sections and notebooks the prose names that do not exist."""
    existing = set(existing)
    own = section_numbers(notebook)
    sections_of = sections_of or {}
    findings = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for sentence in sentences(_source(cell)):
            for text, target, number in NOTEBOOK_LINK.findall(CODE_SPAN.sub(" ", sentence)):
                named = re.fullmatch(r"(?:[Nn]otebook )?(\d\d[a-z]?)", text.strip())
                if named and named.group(1) != number:
                    findings.append(Finding(name, index, f"[{text}]({target})", sentence))
            text = plain(sentence)
            for citation in CITATIONS:  # "(Russakovsky et al., 2015, Section 6.4)": the paper's
                text = citation.sub(" ", text)
            for match in SECTION.finditer(text):
                other = match.group("nb") or match.group("of")
                if other and other not in sections_of:
                    continue  # no such notebook: the zero-padded check below says so
                headings = sections_of[other] if other else own
                for number in re.findall(r"\d+(?:\.\d+)?", match.group("numbers")):
                    if number not in headings:
                        where = f" of notebook {other}" if other else ""
                        findings.append(Finding(name, index, f"section {number}{where}", sentence))
            for number in ZERO_PADDED.findall(text):
                if number not in existing:
                    findings.append(Finding(name, index, f"notebook {number}", sentence))
    return findings


def check(paths: Iterable[Path] = NOTEBOOKS, results_dir: Path = RESULTS_DIR) -> list[Finding]:
    """Every finding in the given notebooks, in notebook and cell order."""
    notebooks = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    sections_of = {
        name.split("_", 1)[0]: section_numbers(notebook) for name, notebook in notebooks.items()
    }
    findings = []
    for name, notebook in notebooks.items():
        found = unbacked_numbers(notebook, name, results_dir)
        found += broken_references(notebook, name, sections_of)
        findings += sorted(found, key=lambda f: f.cell)
    return findings


def report(findings: list[Finding]) -> str:
    """The findings grouped by notebook, one line each: cell, number, sentence."""
    lines = []
    for name in dict.fromkeys(f.notebook for f in findings):
        mine = [f for f in findings if f.notebook == name]
        lines.append(f"{name}: {len(mine)}")
        lines += [f"  cell {f.cell:>3}  {f.number:>8}  {f.sentence}" for f in mine]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Tests: the checker on planted mistakes, then on the real notebooks


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(source: str, printed: str = "") -> dict:
    outputs = [{"output_type": "stream", "name": "stdout", "text": printed}] if printed else []
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": outputs}


def _planted(printed: str) -> dict:
    return _notebook(
        _code("acc = evaluate(model)\nprint(f'accuracy {acc:.3f}')", printed),
        _markdown("## 1. Results\n\nThe model reaches an accuracy 0.912 on the val photos."),
    )


def test_a_number_the_outputs_do_not_print_is_flagged():
    findings = unbacked_numbers(_planted("accuracy 0.921\n"), "fake.ipynb")
    assert [(f.cell, f.number) for f in findings] == [(1, "0.912")]
    assert findings[0].sentence == "The model reaches an accuracy 0.912 on the val photos."
    assert unbacked_numbers(_planted("accuracy 0.912\n"), "fake.ipynb") == []  # the same, fixed


def test_the_same_number_printed_is_not_flagged():
    notebook = _notebook(
        _code("print(acc)", "accuracy 0.9213\n"),
        _markdown("It reaches 0.921, that is 92.1% or 92%, of 1,297 digits."),
        _code("print(n)", "1297 digits, 4652008 parameters\n"),
        _markdown("A network of 4.7 M parameters."),
    )
    assert unbacked_numbers(notebook, "fake.ipynb") == []


def test_formats_and_precision():
    notebook = _notebook(_code("SIZE = 224\nprint(x)", "0.97\n"))
    keys = evidence(notebook)
    assert {"224", "0.97", "97"} <= keys
    assert "0.974" not in keys  # a claim more precise than the printout is not backed
    assert [key for _, key in claims("Crops of 224x224 px, 9.3x faster, 45 MB, 1.28 M.")] == [
        "224",
        "224",
        "9.3",
        "45",
        "M:1.28",
    ]


def test_names_versions_years_and_numbering_are_not_claims():
    sentence = (
        "ResNet-18 and Lite0 (top-5, `SIZE = 7`) since 2012 in version 5.24.0, see section 3, "
        "Exercise 2, notebooks 03 to 05, the 1st epoch and [a](https://example.org/42)."
    )
    assert list(claims(sentence)) == []


def test_a_cited_sentence_is_exempt_and_an_uncited_one_is_not():
    notebook = _notebook(
        _markdown(
            "Models lose 11-14 points on a new test set (Recht et al., 2019).\n"
            "Northcutt et al. (2021) estimate 6% wrong labels.\n"
            "The tutorial reports 0.935 (source: the PyTorch tutorial).\n"
            "The tutorial reports [0.948](https://pytorch.org/tutorials/).\n"
            "For example, the error fell to 3.57%."
        )
    )
    findings = unbacked_numbers(notebook, "fake.ipynb")
    assert [f.number for f in findings] == ["3.57"]


def test_a_repository_file_as_source_is_checked_against_that_file():
    readme = ROOT / "benchmarks" / "README.md"
    text = readme.read_text(encoding="utf-8")
    number = next(m.group() for m in NUMBER.finditer(text) if "." in m.group())
    notebook = _notebook(
        _markdown(f"It took {number} s (source: benchmarks/README.md)."),
        _markdown("It took 123456.789 s (source: `benchmarks/README.md`)."),
        _markdown("It took 123456.789 s, as [the README](../benchmarks/README.md) says."),
    )
    findings = unbacked_numbers(notebook, "fake.ipynb")
    assert [(f.cell, f.number) for f in findings] == [(1, "123456.789"), (2, "123456.789")]


def test_a_saved_study_the_notebook_loads_backs_its_numbers(tmp_path):
    (tmp_path / "toy.json").write_text(json.dumps({"runs": [0.9738562107086182]}))
    prose = _markdown("ImageNet's own head scores 0.974, or 97.4%.")
    loads = _code('study = results.load_study("toy")')
    assert unbacked_numbers(_notebook(loads, prose), "fake.ipynb", tmp_path) == []
    assert len(unbacked_numbers(_notebook(prose), "fake.ipynb", tmp_path)) == 2


def test_a_missing_section_or_notebook_is_flagged():
    notebook = _notebook(
        _markdown("# 01 · Title\n\n## 1. First\n\nSee section 1 and §1."),
        _markdown("## 2. Second\n\nAs section 9 shows, and notebook 04's section 2 too."),
        _markdown("Next, notebooks 03 to 07; [05](04_x.ipynb) and Exercise 2."),
    )
    sections_of = {"04": {"1", "2"}}
    findings = broken_references(notebook, "fake.ipynb", sections_of, existing={"01", "03", "04"})
    assert [(f.cell, f.number) for f in findings] == [
        (1, "section 9"),
        (2, "[05](04_x.ipynb)"),
        (2, "notebook 07"),
        (2, "notebook 05"),
    ]


def test_the_notebooks_state_only_numbers_they_back():
    findings = check()
    if findings:
        pytest.fail(
            f"{len(findings)} numbers or references in the notebooks' prose are backed neither by "
            "the notebook (outputs, code, loaded tables) nor by a cited source (the convention: "
            f"tests/test_claims.py, docs/CLAIMS.md). By notebook, cell, number, sentence:\n"
            f"{report(findings)}",
            pytrace=False,
        )


if __name__ == "__main__":
    for finding in check():
        print(finding.line())

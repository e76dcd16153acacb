"""The Korean edition (helpers.translation): built from the English, complete, in step, and
checked for numbers and terms; each check is shown failing on a planted defect."""

from __future__ import annotations

import copy
import json
import re
import sys
import tokenize
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from helpers import course, glossary, translation

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = course.NOTEBOOKS


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _english(notebook: course.Notebook) -> dict:
    return _read(notebook.path())


def _korean(notebook: course.Notebook) -> dict:
    return _read(notebook.path(translation.EDITION_DIR))


# --- the committed edition -------------------------------------------------------------------


def test_the_edition_is_built_and_in_step():
    """What `python -m helpers.translation --check` (so CI) checks: every catalogue in step with
    its English notebook, every entry translated and not fuzzy, every Korean notebook as the
    catalogues build it, README.ko.md's map current."""
    problems = translation.run(check=True)
    assert not problems, "run `python -m helpers.translation`, then:\n" + "\n".join(problems)


def test_the_edition_has_every_notebook_and_nothing_else():
    on_disk = sorted(path.name for path in translation.EDITION_DIR.glob("*.ipynb"))
    assert on_disk == sorted(notebook.file for notebook in NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.number)
def test_korean_code_and_outputs_are_the_english_ones(notebook):
    assert translation.differences(_english(notebook), _korean(notebook), notebook.file) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.number)
def test_translations_pass_the_checks(notebook):
    """Numbers as in the English, the glossary's Korean forms, 한글(English) at first use, no
    known mistranslation, one Korean comment per English comment."""
    english = _english(notebook)
    catalogue = translation.load(notebook.stem)
    assert catalogue is not None, "no catalogue: run python -m helpers.translation"
    problems = translation.todo(notebook.stem, english, catalogue)
    assert not problems, "\n".join(problems)


def unrendered_emphasis(markdown: str) -> int:
    """How many * a CommonMark renderer leaves as text (outside code): an emphasis that does not
    close, as "*학습률(learning rate)*이" does (a closing * between ")" and a Hangul letter)."""
    html = MarkdownIt("commonmark").render(markdown)
    return re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", html, flags=re.S).count("*")


def test_an_unclosed_korean_emphasis_is_caught():
    assert unrendered_emphasis("*학습률(learning rate)*이 중요합니다.") == 2
    assert unrendered_emphasis("*학습률*(learning rate)이 중요합니다.") == 0


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.number)
def test_korean_emphasis_renders_as_in_the_english(notebook):
    """Bold and italics in the Korean render: no more literal * than the English shows."""
    catalogue = translation.load(notebook.stem)
    broken = [
        f"{entry.msgctxt}: {unrendered_emphasis(entry.msgstr)} literal * (English: "
        f"{unrendered_emphasis(entry.msgid)})"
        for entry in catalogue
        if not entry.obsolete
        and not entry.msgctxt.endswith(translation.COMMENTS)
        and unrendered_emphasis(entry.msgstr) > unrendered_emphasis(entry.msgid)
    ]
    assert not broken, "move the closing * before the particle or gloss:\n" + "\n".join(broken)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: n.number)
def test_no_code_cell_reads_a_path_relative_to_its_folder(notebook):
    """Why notebooks/ko need not be executed again: the same code finds the same files from
    notebooks/ko/ only if no cell names a path relative to the notebook's folder."""
    relative = []
    for cell in _english(notebook)["cells"]:
        if cell["cell_type"] != "code":
            continue
        for token in translation.tokenize.generate_tokens(
            translation.io.StringIO("".join(cell["source"])).readline
        ):
            if token.type == tokenize.STRING and token.string.lstrip("rbfuRBFU")[1:].startswith(
                ("./", "../")
            ):
                relative.append(f"cell {cell['id']}: {token.string}")
    assert not relative, relative


def test_the_korean_readme_maps_every_korean_notebook():
    readme = translation.README.read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        assert f"(notebooks/ko/{notebook.file})" in readme, notebook.file
    english = (REPO / "README.md").read_text(encoding="utf-8")
    assert "README.ko.md" in english, "the English README points Korean readers to README.ko.md"


def test_links_leave_the_korean_folder_correctly():
    for notebook in NOTEBOOKS:
        for cell in _korean(notebook)["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                assert "](../GLOSSARY.md)" not in text, f"{notebook.stem} {cell['id']}: ../../"
    glossary_links = sum(
        "](../../GLOSSARY.md)" in "".join(cell["source"])
        for notebook in NOTEBOOKS
        for cell in _korean(notebook)["cells"]
    )
    assert glossary_links >= len(NOTEBOOKS)


# --- the machinery, on a small notebook, with planted defects --------------------------------


def _cell(kind: str, cell_id: str, source: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=1, outputs=[{"output_type": "stream", "name": "stdout",
                                                  "text": "0.65\n"}])  # fmt: skip
    return cell


def _small_english() -> dict:
    return {
        "cells": [
            _cell(
                "markdown",
                "intro",
                "# 99 · Fine-tuning\n\nFine-tuning reached 0.65 on 153 photos; see the "
                "[glossary](../GLOSSARY.md).",
            ),
            _cell("code", "code1", "x = 1  # one photo\nprint(0.65)  # NBVAL_CHECK_OUTPUT"),
            _cell("markdown", "after", "The head learns; normalisation uses the mean."),
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


SMALL = "99_small.ipynb"
GOOD = {
    "intro": "# 99 · 미세 조정\n\n미세 조정(fine-tuning)은 153장의 사진에서 0.65에 도달했습니다. "
    "[용어집](../GLOSSARY.md)을 보세요.",
    "code1 comments": "# 사진 한 장",
    "after": "헤드(head)가 학습합니다. 정규화(normalisation)에는 평균을 씁니다.",
}


def _translated(english: dict, texts: dict[str, str]) -> translation.polib.POFile:
    catalogue = translation.sync("99_small", english)
    for entry in catalogue:
        entry.msgstr = texts.get(entry.msgctxt, "")
    return catalogue


def test_sources_are_markdown_cells_and_readers_comments():
    sources = translation.sources(_small_english())
    assert [(s.context, s.kind) for s in sources] == [
        ("intro", "markdown"),
        ("code1 comments", "comments"),
        ("after", "markdown"),
    ]
    assert sources[1].english == "# one photo", "a tool's directive (NBVAL_...) is not translated"


def test_a_complete_catalogue_builds_a_notebook_with_the_english_code_and_outputs():
    english = _small_english()
    catalogue = _translated(english, GOOD)
    assert translation.todo("99_small", english, catalogue) == []
    korean = translation.build_notebook(english, catalogue, SMALL)
    assert translation.differences(english, korean, SMALL) == []
    code = "".join(korean["cells"][1]["source"])
    assert code == "x = 1  # 사진 한 장\nprint(0.65)  # NBVAL_CHECK_OUTPUT"
    assert "](../../GLOSSARY.md)" in "".join(korean["cells"][0]["source"])


def test_identity_fails_on_changed_code_outputs_or_cells():
    english = _small_english()
    korean = translation.build_notebook(english, _translated(english, GOOD), SMALL)
    changed_code = copy.deepcopy(korean)
    changed_code["cells"][1]["source"] = "x = 2  # 사진 한 장\nprint(0.65)  # NBVAL_CHECK_OUTPUT"
    assert translation.differences(english, changed_code, SMALL) == [
        "cell code1: its code differs from the English once comments go"
    ]
    changed_output = copy.deepcopy(korean)
    changed_output["cells"][1]["outputs"][0]["text"] = "0.66\n"
    assert translation.differences(english, changed_output, SMALL) == [
        "cell code1: its outputs differ from the English"
    ]
    dropped = copy.deepcopy(korean)
    del dropped["cells"][2]
    assert translation.differences(english, dropped, SMALL) == [
        "cells differ: not the English cells in the English order"
    ]
    comments_only = copy.deepcopy(korean)
    comments_only["cells"][1]["source"] = "x = 1  # 다른 주석\nprint(0.65)"
    assert translation.differences(english, comments_only, SMALL) == [], "comments may differ"


def test_a_changed_english_cell_goes_fuzzy_and_blocks_the_build():
    english = _small_english()
    catalogue = _translated(english, GOOD)
    changed = copy.deepcopy(english)
    changed["cells"][2]["source"] = "The head learns fast; normalisation uses the mean."
    changed["cells"].append(_cell("markdown", "new", "A new cell."))
    synced = translation.sync("99_small", changed, catalogue)
    entry = next(e for e in synced if e.msgctxt == "after")
    assert "fuzzy" in entry.flags
    assert entry.previous_msgid == "The head learns; normalisation uses the mean."
    assert entry.msgstr == GOOD["after"], "the old translation stays as a draft"
    problems = translation.todo("99_small", changed, synced)
    assert problems == [
        "99_small cell after: fuzzy, the English changed ('The head learns fast; normalisation "
        "uses the mean.')",
        "99_small cell new: untranslated ('A new cell.')",
    ]
    assert translation._blocking(problems) == problems
    # the .po file says it in gettext's words, for a translator's tool
    text = str(synced)
    assert "#, fuzzy" in text and '#| msgid "The head learns; normalisation' in text


def test_a_removed_english_cell_becomes_obsolete():
    english = _small_english()
    catalogue = _translated(english, GOOD)
    shorter = copy.deepcopy(english)
    del shorter["cells"][2]
    synced = translation.sync("99_small", shorter, catalogue)
    assert [e.msgctxt for e in synced if e.obsolete] == ["after"]
    assert translation.todo("99_small", shorter, synced) == []


@pytest.mark.parametrize(
    ("cell", "korean", "problem"),
    [
        ("intro", GOOD["intro"].replace("0.65", "0.56"),
         "numbers differ from the English: missing ['0.65'], extra ['0.56']"),
        ("intro", GOOD["intro"].replace("미세 조정(fine-tuning)", "파인튜닝")
                                .replace("미세 조정", "파인튜닝"),
         "'fine-tuning' should be '미세 조정' (GLOSSARY.md)"),
        ("intro", GOOD["intro"].replace("미세 조정(fine-tuning)은", "미세 조정은"),
         "first use of '미세 조정' in this notebook: write 미세 조정(fine-tuning)"),
        ("after", GOOD["after"].replace("정규화(normalisation)", "일반화(normalisation)"),
         "'normalisation' should be '정규화' (GLOSSARY.md)"),
        ("after", GOOD["after"] + " 데이터 증가도 씁니다.", "augmentation is 증강, not 증가"),
        ("after", GOOD["after"] + " 이미지넷은 100개 클래스입니다.",
         "ImageNet-1k has 1000 classes, not 100"),
        ("code1 comments", "# 사진 한 장\n# 둘째 줄", "1 comments in the English, 2 in the Korean"),
    ],
)  # fmt: skip
def test_each_check_fails_on_a_planted_defect(cell, korean, problem):
    english = _small_english()
    catalogue = _translated(english, dict(GOOD, **{cell: korean}))
    problems = translation.todo("99_small", english, catalogue)
    assert any(found.endswith(problem) for found in problems), problems


def test_a_terms_english_gloss_adds_no_number():
    english = "Top-5 accuracy is 0.9."
    assert (
        translation.check_entry(english, "top-5 정확도(top-5 accuracy)는 0.9입니다.", set()) == []
    )
    assert translation.check_entry(english, "top-5 정확도(top-5 accuracy)는 5와 0.9입니다.", set())


def test_numbers_compare_by_value_with_korean_scale_words():
    english = "ImageNet has 14 million photos, 1.28 million of them in ImageNet-1k; torch 2.14.1."
    natural = (
        "이미지넷에는 사진 1,400만 장이 있고 그중 128만 장이 이미지넷-1k에 있습니다. torch 2.14.1."
    )
    assert translation.check_entry(english, natural, {"이미지넷", "이미지넷-1k"}) == []
    wrong = natural.replace("128만", "12만")
    assert translation.check_entry(english, wrong, {"이미지넷", "이미지넷-1k"}) == [
        "numbers differ from the English: missing ['1280000'], extra ['120000']"
    ]
    assert translation.numbers("0.65만큼", translation.KOREAN_SCALES) == {"0.65": 1}
    only = translation.check_entry("Only top-1 counts.", "top-1만 셉니다.", set())
    assert only == [], "만 after a number may be the particle 'only'"


def test_spelled_out_numbers_may_be_numerals_in_korean():
    english = "Training takes about two minutes; the weights go to zero."
    assert translation.number_difference(
        english, "학습은 약 2분 걸리고 가중치는 0으로 갑니다."
    ) == ([], [])
    assert translation.number_difference(
        english, "학습은 약 이 분 걸리고 가중치는 영으로 갑니다."
    ) == (
        [],
        [],
    )
    assert translation.number_difference(english, "학습은 약 3분 걸립니다.") == ([], ["3"])


def test_quoted_text_and_hyphenated_terms():
    """A quoted title or row name asks for no Korean term; "transfer-learning tutorial" uses
    the term transfer learning."""
    used = {name for _, name, _ in translation.terms_used('See "A guide to parameters".')}
    assert "parameter" not in used
    used = {name for _, name, _ in translation.terms_used("the transfer-learning tutorial")}
    assert "transfer learning" in used


def test_a_word_in_another_sense_is_exempt_in_that_cell_only():
    english = _small_english()
    english["cells"][2]["source"] = "The ant's head is dark; normalisation uses the mean."
    texts = dict(GOOD, after="개미의 머리는 어둡습니다. 정규화(normalisation)에는 평균을 씁니다.")
    catalogue = _translated(english, texts)
    assert translation.todo("99_small", english, catalogue) == [
        "99_small cell after: 'head' should be '헤드' (GLOSSARY.md)"
    ]
    entry = next(e for e in catalogue if e.msgctxt == "after")
    entry.tcomment = "not the term: head — an ant's head, not a classifier"
    assert translation.todo("99_small", english, catalogue) == []
    resynced = translation.sync("99_small", english, catalogue)
    assert translation.todo("99_small", english, resynced) == [], "the comment survives a sync"


def test_mistranslation_of_normalisation_is_named():
    found = translation.check_entry(
        "Normalisation uses the mean.", "일반화(normalisation)와 정규화는 평균을 씁니다.", set()
    )
    assert "일반화 is generalisation; normalisation is 정규화" in found


def test_the_check_command_fails_while_a_catalogue_is_incomplete(tmp_path, monkeypatch):
    """`--check` on a copy of the edition with one entry emptied names that cell."""
    notebook = NOTEBOOKS[0]
    catalogues = tmp_path / "translations" / "ko"
    catalogues.mkdir(parents=True)
    for other in NOTEBOOKS:
        source = translation.catalogue_path(other.stem)
        (catalogues / source.name).write_bytes(source.read_bytes())
    edition = tmp_path / "ko"
    edition.mkdir()
    for other in NOTEBOOKS:
        (edition / other.file).write_bytes(other.path(translation.EDITION_DIR).read_bytes())
    monkeypatch.setattr(translation, "CATALOGUE_DIR", catalogues)
    monkeypatch.setattr(translation, "EDITION_DIR", edition)
    monkeypatch.setattr(translation, "README", tmp_path / "README.ko.md")
    assert translation.run(check=True) == []
    path = catalogues / f"{notebook.stem}.po"
    po = translation.polib.pofile(str(path), wrapwidth=100)
    emptied = next(entry for entry in po if not entry.obsolete)
    emptied.msgstr = ""
    po.save(str(path))
    problems = translation.run(check=True)
    assert problems and problems[0].startswith(
        f"{notebook.stem} cell {emptied.msgctxt}: untranslated"
    )


def test_launch_cells_open_the_korean_notebook():
    """docs/launch.py's cells, once published, are copied with links to notebooks/ko/, and the
    Korean README's map gets the same links."""
    sys.path.insert(0, str(REPO / "docs"))
    import launch  # noqa: PLC0415 - docs/ is not a package

    english = _small_english()
    published = launch.with_launch_cells(
        english, SMALL, "https://github.com/someone/course", "main"
    )
    korean = translation.build_notebook(published, _translated(published, GOOD), SMALL)
    badge = "".join(korean["cells"][1]["source"])
    assert "blob/main/notebooks/ko/99_small.ipynb" in badge
    assert "labpath=notebooks%2Fko%2F99_small.ipynb" in badge
    assert translation.differences(published, korean, SMALL) == []
    assert translation._launch_links(korean).startswith("[Colab](https://colab.research.google")
    english_links = copy.deepcopy(korean)
    english_links["cells"][1] = published["cells"][1]
    assert translation.differences(published, english_links, SMALL) == [
        f"cell {launch.BADGE_CELL_ID}: not the English launch cell opening the Korean notebook"
    ]
    assert (
        translation._launch_links(
            translation.build_notebook(english, _translated(english, GOOD), SMALL)
        )
        == "공개 후"
    )


# --- the glossary as the one list of Korean terms --------------------------------------------


def test_each_korean_form_names_one_term():
    """Two English terms with one Korean form (the old 지름길 학습 for both the residual shortcut
    and a shortcut cue) would make the Korean ambiguous."""
    forms: dict[str, str] = {}
    clashes = []
    for term in glossary.terms():
        for _name, form in term.pairs():
            owner = forms.setdefault(form, term.english)
            if owner != term.english:
                clashes.append(f"{form}: {owner} and {term.english}")
    assert not clashes, clashes


def test_glossary_follows_the_korean_pytorch_tutorials_where_they_have_the_term():
    """Their TRANSLATION_GUIDE.md's table (PyTorchKorea/tutorials-kr), for the terms both use."""
    tutorials = {
        "confusion matrix": "혼동 행렬", "convolution": "합성곱",
        "data augmentation": "데이터 증강",
        "dropout": "드롭아웃", "epoch": "에폭", "fine-tuning": "미세 조정", "freezing": "동결",
        "gradient": "변화도", "inference": "추론", "learning rate": "학습률", "loss": "손실",
        "momentum": "모멘텀", "optimizer": "옵티마이저", "overfitting": "과적합",
        "parameter": "매개변수", "weights": "가중치", "autograd": "Autograd",
    }  # fmt: skip
    ours = {name: form for term in glossary.terms() for name, form in term.pairs()}
    assert {name: ours.get(name) for name in tutorials} == tutorials

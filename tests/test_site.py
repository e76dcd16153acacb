"""The course site and its launch buttons.

The slow tests build the site (`python docs/build.py`) from the committed notebooks into
tmp_path (nothing is executed; about 10 s on 2 CPU cores), then open every page from disk in
Debian's Chromium, driven by Playwright as in tests/test_browser.py. CI builds the site through
these tests. The fast ones check docs/launch.py on copies of the notebooks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from helpers import course
from tests.conftest import missing
from tests.test_browser import launch_chromium

pytest.importorskip("tomllib", reason="the site tools (docs/) need Python 3.11+")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs"))
import build  # noqa: E402 - docs/ is not a package
import launch  # noqa: E402

IMAGE_TYPES = {"image/png", "image/jpeg", "image/svg+xml", "image/gif"}
# myst-nb shows one representation per output; these win over an image when both are saved
PREFERRED_OVER_IMAGES = {
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    start = time.perf_counter()
    pages = build.build(out, quiet=True)
    print(f"site built in {time.perf_counter() - start:.1f} s: {len(pages)} pages")
    return out, pages


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    # the site must work offline: anything not on disk is refused, not waited for
    context.route("http*://**", lambda route: route.abort())
    try:
        yield context.new_page()
    finally:
        context.close()


def notebook_title(path: Path) -> str:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "markdown" and line.startswith("# "):
                return line[2:].strip()
    raise AssertionError(f"{path.name} has no '# ' title")


def image_outputs(path: Path) -> int:
    """Outputs the site renders as an image (an image is their preferred representation)."""
    count = 0
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            kinds = set(output.get("data", {}))
            if kinds & IMAGE_TYPES and not kinds & PREFERRED_OVER_IMAGES:
                count += 1
    return count


def plain_text(markdown: str) -> str:
    """A heading's text as the page shows it (backticks and emphasis dropped)."""
    return " ".join(markdown.replace("`", "").replace("*", "").split())


@pytest.mark.slow
def test_every_page_is_built_in_teaching_order(site):
    out, pages = site
    notebooks = [f"notebooks/{p.stem}" for p in course.paths()]
    assert len(notebooks) >= 6
    assert pages[: 1 + len(notebooks)] == ["index", *notebooks]
    assert (REPO / "TEACHING.md").exists() and "TEACHING" in pages
    for extra in ("GLOSSARY", "TEACHING"):
        assert (extra in pages) == (REPO / f"{extra}.md").exists()
    for name in pages:
        assert (out / f"{name}.html").is_file(), name
    # the sidebar lists the notebooks in the course's order (helpers.course)
    index = (out / "index.html").read_text(encoding="utf-8")
    positions = [index.index(f'href="{name}.html"') for name in notebooks]
    assert positions == sorted(positions)


def korean_paths() -> list[Path]:
    return course.paths(REPO / "notebooks" / "ko")


@pytest.mark.slow
def test_the_korean_edition_follows_in_teaching_order(site):
    out, pages = site
    korean = [f"notebooks/ko/{p.stem}" for p in korean_paths()]
    assert pages[-1 - len(korean) :] == ["README.ko", *korean]
    home = (out / "README.ko.html").read_text(encoding="utf-8")
    positions = [home.index(f'href="{name}.html"') for name in korean]
    assert positions == sorted(positions)


@pytest.mark.slow
def test_every_page_has_a_language_switch_to_its_counterpart(site):
    """A notebook's switch opens the same notebook in the other language, the two homes open
    each other, and every other page opens the Korean home."""
    out, pages = site
    expected = {"index": "README.ko.html", "README.ko": "index.html"}
    for path in course.paths():
        expected[f"notebooks/{path.stem}"] = f"ko/{path.stem}.html"
        expected[f"notebooks/ko/{path.stem}"] = f"../{path.stem}.html"
    for name in pages:
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        match = re.search(r'<p class="language-switch"><a href="([^"]+)"', html)
        assert match, f"{name}: no language switch"
        default = "../" * name.count("/") + "README.ko.html"
        assert match.group(1) == expected.get(name, default), name
        assert (out / name).parent.joinpath(match.group(1)).resolve().is_file(), name


@pytest.mark.slow
@pytest.mark.browser
def test_the_language_switch_takes_a_reader_between_editions(site, page):
    out, _ = site
    english, korean = course.paths()[3], korean_paths()[3]
    page.goto((out / "notebooks" / f"{english.stem}.html").as_uri())
    page.locator("p.language-switch a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/notebooks/ko/{english.stem}.html")
    heading = page.locator("article h1").first.inner_text()
    assert plain_text(heading).rstrip("#").strip() == plain_text(notebook_title(korean))
    assert page.locator("p.language-switch a").inner_text() == "English"
    page.locator("p.language-switch a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/notebooks/{english.stem}.html")


@pytest.mark.slow
@pytest.mark.browser
def test_notebook_pages_render_title_and_figures(site, page):
    """Both editions: the English notebooks and the Korean ones built from them."""
    out, _ = site
    figures_seen = 0
    for notebook in course.paths() + korean_paths():
        page.goto((out / notebook.parent.relative_to(REPO) / f"{notebook.stem}.html").as_uri())
        page.wait_for_load_state("load")
        heading = page.locator("article h1").first.inner_text()
        assert plain_text(heading).rstrip("#").strip() == plain_text(notebook_title(notebook))
        assert plain_text(notebook_title(notebook)) in page.title()
        figures = page.evaluate(
            """() => [...document.querySelectorAll('.cell_output img')].map(
                img => ({src: img.getAttribute('src'), width: img.naturalWidth}))"""
        )
        expected = image_outputs(notebook)
        assert len(figures) >= expected, (notebook.name, len(figures), expected)
        broken = [figure["src"] for figure in figures if figure["width"] == 0]
        assert not broken, f"{notebook.name}: figures that did not load: {broken}"
        figures_seen += len(figures)
    assert figures_seen > 40, "the notebooks' saved plots are missing (in either edition)"


@pytest.mark.slow
@pytest.mark.browser
def test_no_internal_link_is_broken(site, page):
    out, _ = site
    ids: dict[Path, set[str]] = {}
    links: list[tuple[str, str]] = []  # (page it is on, absolute file:// URL)
    for html in sorted(out.rglob("*.html")):
        page.goto(html.as_uri())
        ids[html] = set(
            page.evaluate(
                """() => [...document.querySelectorAll('[id]')].map(e => e.id).concat(
                    [...document.querySelectorAll('a[name]')].map(a => a.name))"""
            )
        )
        hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        links += [(html.relative_to(out).as_posix(), href) for href in hrefs]
    internal = [(source, href) for source, href in links if href.startswith("file:")]
    assert len(internal) > 50, "too few internal links: did the pages load?"
    broken = []
    for source, href in internal:
        parts = urlsplit(href)
        target = Path(unquote(parts.path))
        if not target.exists():
            broken.append(f"{source}: {href} (no such file)")
        elif parts.fragment and target.suffix == ".html":
            if target not in ids:
                page.goto(target.as_uri())
                ids[target] = set(
                    page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
                )
            if unquote(parts.fragment) not in ids[target]:
                broken.append(f"{source}: {href} (no such anchor)")
    assert not broken, "\n".join(sorted(set(broken)))


# Launch buttons (docs/launch.py), on copies of the notebooks


def run_launch(*args: str) -> int:
    """docs/launch.py's command line, in this process; its exit status."""
    return launch.main(list(args))


PUBLISHED = "https://github.com/someone/transfer-course"


@pytest.fixture
def notebook_copies(tmp_path):
    """Two notebooks without launch cells, the README, and a pyproject.toml whose address is
    published (PUBLISHED), in tmp_path; the options that point docs/launch.py at them."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in course.paths()[:2]:  # as they were before launch.py
        notebook = json.loads(path.read_text(encoding="utf-8"))
        notebook["cells"] = [c for c in notebook["cells"] if not _is_launch_cell(c)]
        (folder / path.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    pyproject = tmp_path / "pyproject.toml"
    shutil.copy2(REPO / "pyproject.toml", pyproject)
    set_address(pyproject, PUBLISHED)
    readme = tmp_path / "README.md"
    shutil.copy2(REPO / "README.md", readme)
    options = ["--notebooks", str(folder), "--pyproject", str(pyproject), "--readme", str(readme)]
    return folder, pyproject, readme, options


def set_address(pyproject: Path, url: str) -> None:
    text = pyproject.read_text()
    old, _ = launch.project_links(pyproject)
    pyproject.write_text(text.replace(f'Repository = "{old}"', f'Repository = "{url}"'))


def _is_launch_cell(cell: dict) -> bool:
    return launch.LAUNCH_TAG in cell["metadata"].get("tags", [])


def launch_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if _is_launch_cell(c)]


def readme_launch_column(readme: Path) -> dict[str, str]:
    return {m["notebook"]: m["launch"] for m in launch.README_ROW.finditer(readme.read_text())}


def test_launch_cells_go_after_the_title_once_and_check_passes_after(notebook_copies):
    folder, pyproject, readme, options = notebook_copies
    originals = {p: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.ipynb")}
    assert run_launch("--check", *options) == 1
    assert run_launch(*options) == 0
    url, branch = launch.project_links(pyproject)
    for path, original in originals.items():
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert cells[0] == original["cells"][0]  # the title cell stays first, untouched
        assert [c["cell_type"] for c in cells[1:3]] == ["markdown", "code"]
        assert cells[3:] == original["cells"][1:]  # everything else as it was, outputs included
        badges = "".join(cells[1]["source"])
        assert launch.colab_url(path.name, url, branch) in badges
        assert launch.binder_url(path.name, url, branch) in badges
        assert f"/blob/{branch}/notebooks/{path.name})" in badges
        assert f"labpath=notebooks%2F{path.name})" in badges
    column = readme_launch_column(readme)
    assert len(column) == len(course.NOTEBOOKS)
    for name, links in column.items():
        assert links == f"[Colab]({launch.colab_url(name, url, branch)}) · " + (
            f"[Binder]({launch.binder_url(name, url, branch)})"
        )
    before = {p: p.read_bytes() for p in [*folder.glob("*.ipynb"), readme]}
    assert run_launch("--check", *options) == 0
    assert run_launch(*options) == 0
    assert {p: p.read_bytes() for p in before} == before  # idempotent


def test_a_placeholder_address_gives_no_button_anywhere(notebook_copies, capsys):
    folder, pyproject, readme, options = notebook_copies
    run_launch(*options)  # published: buttons everywhere
    set_address(pyproject, "https://github.com/OWNER/transfer-course")
    assert run_launch("--check", *options) == 1  # the buttons now point at a placeholder
    assert run_launch(*options) == 0
    for path in folder.glob("*.ipynb"):
        assert launch_cells(path) == []
        assert "OWNER" not in path.read_text()
    assert set(readme_launch_column(readme).values()) == {launch.UNPUBLISHED}
    assert "github.com/OWNER" not in readme.read_text()
    assert run_launch("--check", *options) == 0
    url, branch = launch.project_links(pyproject)
    with pytest.raises(ValueError, match="placeholder"):
        launch.launch_cells("01.ipynb", url, branch)
    assert run_launch("--table", *options) == 2  # refused, with the command that fixes it
    assert "--publish https://github.com/<owner>/<name>" in capsys.readouterr().err
    assert run_launch("--publish", "https://github.com/OWNER/x", *options) == 2


def test_publish_turns_every_button_on(notebook_copies):
    folder, pyproject, readme, options = notebook_copies
    set_address(pyproject, "https://github.com/OWNER/transfer-course")
    run_launch(*options)
    assert run_launch("--publish", "https://github.com/teacher/course/", *options) == 0
    assert launch.project_links(pyproject)[0] == "https://github.com/teacher/course"
    assert all(len(launch_cells(path)) == 2 for path in folder.glob("*.ipynb"))
    assert all("teacher/course" in links for links in readme_launch_column(readme).values())
    assert run_launch("--check", *options) == 0


def test_launch_cells_are_valid_nbformat_4_cells():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    cells = launch.launch_cells("01.ipynb", PUBLISHED, "main")
    notebook.cells = [nbformat.from_dict(c) for c in cells]
    nbformat.validate(notebook)


def test_a_new_repository_url_refreshes_every_link(notebook_copies):
    folder, pyproject, readme, options = notebook_copies
    run_launch(*options)
    old_url, _ = launch.project_links(pyproject)
    new_url = "https://github.com/someone/elsewhere"
    set_address(pyproject, new_url)
    assert run_launch("--check", *options) == 1
    run_launch(*options)
    for path in folder.glob("*.ipynb"):
        cells = launch_cells(path)
        assert len(cells) == 2  # replaced, not added again
        text = json.dumps(cells)
        assert old_url.removeprefix("https://github.com/") not in text
        assert "someone/elsewhere" in text
    assert "someone/transfer-course" not in readme.read_text()


def test_table_has_both_badges_for_every_notebook(notebook_copies):
    folder, pyproject, _, _ = notebook_copies
    rows = launch.table(folder, pyproject).splitlines()[2:]
    assert len(rows) == len(list(folder.glob("*.ipynb")))
    assert all("Open In Colab" in row and "Launch Binder" in row for row in rows)


def test_setup_cell_does_nothing_outside_colab_and_installs_on_colab(monkeypatch):
    url, branch = PUBLISHED, "main"
    code = "".join(launch.launch_cells("01.ipynb", url, branch)[1]["source"])
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(code, "setup-cell", "exec"), {})
    assert calls == []
    monkeypatch.setitem(sys.modules, "google.colab", object())
    exec(compile(code, "setup-cell", "exec"), {})
    clone, install = calls
    assert clone[:2] == ["git", "clone"] and url in clone and branch in clone
    assert install[1:4] == ["-m", "pip", "install"] and install[-1] == launch.COLAB_CLONE
    assert sys.path[0] == launch.COLAB_CLONE


def test_committed_notebooks_and_readme_match_the_address():
    command = [sys.executable, str(REPO / "docs" / "launch.py"), "--check"]
    check = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    url, _ = launch.project_links()
    notebooks = course.paths()
    if launch.is_published(url):
        assert all(launch_cells(path) for path in notebooks), "run python docs/launch.py"
    else:  # no link may point at the placeholder
        for path in [*notebooks, REPO / "README.md", REPO / "TEACHING.md"]:
            assert "github.com/OWNER" not in path.read_text(), path.name


WIDGET_NOTEBOOKS = {  # a page, and what its widgets draw from the saved state
    "03_freezing": ".freeze-panel .freeze-readout",
    "01_imagenet_background": ".widget-upload",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WIDGET_NOTEBOOKS))
def test_widgets_are_drawn_not_shown_as_text(site, page, name):
    out, _ = site
    if not (out / build.WIDGETS_JS).exists():
        missing("npm is missing, so the site loads the widget bundle from a CDN: apt install npm")
    page.goto((out / "notebooks" / f"{name}.html").as_uri())
    drawn = page.locator(WIDGET_NOTEBOOKS[name]).first
    drawn.wait_for(timeout=30_000)
    body = page.locator("body").inner_text()
    for fallback in ("FreezePanel(children=", "UploadPredictor(children=", "VBox(children="):
        assert fallback not in body, fallback
    if name == "03_freezing":
        assert drawn.inner_text().startswith("Trainable:")
    else:
        assert drawn.inner_text().strip().startswith("Upload")

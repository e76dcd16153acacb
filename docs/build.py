"""Build the course site from the committed, executed notebooks (nothing is re-executed).

    python docs/build.py              # into _build/site (git-ignored): open _build/site/index.html
    python docs/build.py --out DIR    # elsewhere

Needs Python 3.11+ (tomllib) and requirements.txt's sphinx, myst-nb and sphinx-book-theme.

Widgets: the executed notebooks carry their widgets' saved state (FreezePanel, progress bars,
upload buttons), and a page draws them with the ipywidgets HTML manager (npm's
@jupyter-widgets/html-manager, the version that matches ipywidgets 8). Its one-file bundle
`dist/embed.js` is fetched once with `npm pack` into _build/widgets (git-ignored) and served
from the site itself, so pages draw their widgets offline too. Without npm the pages load
the same file from a CDN (jsdelivr), which needs the reader's internet.

The pages: README.md is the home page (its notebook table is the map), then every
notebook in the course's order (helpers.course), GLOSSARY.md, TEACHING.md, the helpers,
benchmarks and translations READMEs, and the Korean edition (README.ko.md as its home, then
notebooks/ko/). Every page has a language switch at its top (docs/conf.py): a notebook's leads
to the same notebook in the other language, the homes to each other, the other pages to the
Korean home. They are copied, with the repository's layout, into a staging
folder next to the output (README links such as `notebooks/03_freezing.ipynb` resolve as they do
on GitHub), and Sphinx (myst-nb, sphinx-book-theme; configuration in docs/conf.py) renders them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from helpers import course

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "_build" / "site"
# (path in the repository, caption of its toctree section); README.md becomes index.md
COURSE_PAGES = ["GLOSSARY.md", "TEACHING.md"]
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"  # the one ipywidgets 8.1 pairs with
WIDGETS_CACHE = REPO / "_build" / "widgets"
WIDGETS_JS = "_static/widgets/embed.js"  # where the site serves it, relative to its root
WIDGETS_CDN = "https://cdn.jsdelivr.net/npm/" + HTML_MANAGER + "/dist/embed.js"
REFERENCE_PAGES = ["helpers/README.md", "benchmarks/README.md", "translations/README.md"]
KOREAN_HOME = "README.ko.md"  # the Korean edition's home page (helpers.translation)
KOREAN_NOTEBOOKS = "notebooks/ko"


def notebook_paths() -> list[Path]:
    return course.paths(REPO / "notebooks")


def korean_notebook_paths() -> list[Path]:
    """The Korean edition's notebooks in the course's order (those that are built)."""
    return [path for path in course.paths(REPO / KOREAN_NOTEBOOKS) if path.exists()]


def toctree(caption: str, entries: list[str]) -> str:
    lines = "\n".join(entries)
    return f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n:maxdepth: 1\n\n{lines}\n```\n"


def stage(source: Path) -> list[str]:
    """Copy the site's pages into source; return their document names in navigation order."""
    if source.exists():
        shutil.rmtree(source)
    (source / "notebooks").mkdir(parents=True)
    notebooks = [f"notebooks/{p.stem}" for p in notebook_paths()]
    for path in notebook_paths():
        shutil.copy2(path, source / "notebooks" / path.name)
    course = [page for page in COURSE_PAGES if (REPO / page).exists()]
    reference = [page for page in REFERENCE_PAGES if (REPO / page).exists()]
    for page in course + reference:
        (source / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / page, source / page)
    korean = stage_korean(source)
    home = (REPO / "README.md").read_text(encoding="utf-8")
    home += toctree("Notebooks", notebooks)
    home += toctree("Course", [page.removesuffix(".md") for page in course])
    if reference:
        home += toctree("Reference", [page.removesuffix(".md") for page in reference])
    if korean:
        home += toctree("한국어판 (Korean edition)", korean[:1])
    (source / "index.md").write_text(home, encoding="utf-8")
    pages = ["index", *notebooks] + [page.removesuffix(".md") for page in course + reference]
    return pages + korean


def stage_korean(source: Path) -> list[str]:
    """Stage the Korean edition (README.ko.md as its home, notebooks/ko/ in the course's order);
    return its document names, its home first; none when it is not built."""
    paths = korean_notebook_paths()
    if not paths or not (REPO / KOREAN_HOME).exists():
        return []
    (source / KOREAN_NOTEBOOKS).mkdir(parents=True)
    for path in paths:
        shutil.copy2(path, source / KOREAN_NOTEBOOKS / path.name)
    notebooks = [f"{KOREAN_NOTEBOOKS}/{path.stem}" for path in paths]
    home = (REPO / KOREAN_HOME).read_text(encoding="utf-8")
    home = home.replace("](README.md", "](index.md")  # the English README is the site's index
    home += toctree("노트북", notebooks)
    (source / KOREAN_HOME).write_text(home, encoding="utf-8")
    return [KOREAN_HOME.removesuffix(".md"), *notebooks]


def widgets_bundle(cache: Path = WIDGETS_CACHE) -> Path | None:
    """The html-manager's dist/embed.js, fetched with npm once into cache; None without npm."""
    bundle = cache / HTML_MANAGER.replace("/", "+") / "embed.js"
    if bundle.exists():
        return bundle
    npm = shutil.which("npm")
    if npm is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        [npm, "pack", HTML_MANAGER, "--pack-destination", str(cache), "--silent"],
        check=True, capture_output=True, text=True,
    ).stdout.split()[-1]  # fmt: skip
    with tarfile.open(cache / packed) as archive:
        member = archive.extractfile("package/dist/embed.js")
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_bytes(member.read())
    (cache / packed).unlink()
    return bundle


def build(out: Path = DEFAULT_OUT, quiet: bool = False) -> list[str]:
    """Stage the pages next to out and render them into out; return the document names."""
    out = out.resolve()
    source = out.parent / f"{out.name}-source"
    pages = stage(source)
    bundle = widgets_bundle()
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-c", str(REPO / "docs"),
        "-d", str(out.parent / f"{out.name}-doctrees"), "-E", "-j", "1",
        str(source), str(out),
    ]  # fmt: skip
    if quiet:
        command.append("-q")
    # Sphinx reads a script's relative path from _static/
    served = WIDGETS_JS.removeprefix("_static/")
    environment = dict(os.environ, COURSE_WIDGETS_JS=served if bundle else WIDGETS_CDN)
    subprocess.run(command, check=True, env=environment)
    if bundle is not None:
        (out / WIDGETS_JS).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bundle, out / WIDGETS_JS)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pages = build(args.out)
    print(f"{len(pages)} pages in {time.perf_counter() - start:.0f} s: {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Launch buttons: "Open in Colab" and "Launch Binder" for every notebook, from one repository URL.

The repository URL and branch are written once, in pyproject.toml (`[project.urls] Repository`
and `[tool.course-site] branch`); every badge, link and the Colab set-up cell are made from them.
Until the course has a public address the URL is a placeholder (owner "OWNER"), and then there
are no buttons anywhere: no launch cells in the notebooks, no links in the README's map, none
on the site, because each would fail for a learner. The one command that turns them on:

    python docs/launch.py --publish https://github.com/<owner>/<name>

    python docs/launch.py            # insert, refresh (or, unpublished, remove) the launch cells
                                     # of notebooks/*.ipynb and the README map's launch column
    python docs/launch.py --check    # exit 1 if any of them is missing or stale
    python docs/launch.py --table    # the badges, one row per notebook

The two cells go right after each notebook's first (title) cell, which stays first: a markdown
cell with the badges, and a code cell that does nothing unless it runs on Google Colab. Both are
tagged "launch" (so a rerun replaces them) and "remove-cell" (the course site shows its own
launch buttons instead). Running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import tomllib

from helpers import course

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = "notebooks"
LAUNCH_TAG = "launch"
SITE_TAGS = [LAUNCH_TAG, "remove-cell"]
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
BADGE_CELL_ID = "launch-badges"
SETUP_CELL_ID = "colab-setup"
COLAB_CLONE = "/content/transfer-course"
PLACEHOLDER_OWNERS = {"OWNER"}  # what pyproject.toml says until the course is published
UNPUBLISHED = course.NOT_PUBLISHED  # the README map's launch column until then
README_ROW = re.compile(
    r"^(?P<head>\| [^|]+ \| `(?P<notebook>[^`]+\.ipynb)` \| .* \| )(?P<launch>[^|]*)"
    r"(?P<tail> \| [^|]+ \|)$",
    re.M,
)

SETUP_CODE = """\
# Google Colab only: fetch the course and install what Colab lacks. Elsewhere this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess
    from pathlib import Path

    course = Path("{clone}")
    if not course.exists():
        subprocess.run(
            ["git", "clone", "--depth", "1", "--branch", "{branch}", "{url}", str(course)],
            check=True,
        )
    # Colab's own torch, numpy, ... already meet pyproject.toml's lower bounds: pip keeps them.
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-e", str(course)], check=True)
    sys.path.insert(0, str(course))  # importable now, without restarting the runtime"""


def check_url(url: str) -> str:
    """url without a trailing slash, if it is https://github.com/<owner>/<name>."""
    url = url.rstrip("/")
    if not url.startswith("https://github.com/") or url.count("/") != 4:
        raise ValueError(f"Repository must be https://github.com/<owner>/<name>, not {url!r}")
    return url


def project_links(pyproject: Path = REPO / "pyproject.toml") -> tuple[str, str]:
    """(repository URL, branch) from pyproject.toml, the one place they are written."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    url = check_url(config["project"]["urls"]["Repository"])
    return url, config["tool"]["course-site"]["branch"]


def is_published(url: str) -> bool:
    """False while the repository URL is the placeholder (https://github.com/OWNER/...)."""
    return url.removeprefix("https://github.com/").split("/")[0] not in PLACEHOLDER_OWNERS


def refuse_placeholder(url: str) -> None:
    if not is_published(url):
        raise ValueError(
            f"{url} is a placeholder: a button made from it fails for every learner. Publish the "
            "repository, then run: python docs/launch.py --publish https://github.com/<owner>/<name>"
        )


def colab_url(notebook: str, url: str, branch: str) -> str:
    """Colab opens a notebook straight from GitHub: /github/<owner>/<name>/blob/<branch>/<path>."""
    slug = url.removeprefix("https://github.com/")
    return (
        f"https://colab.research.google.com/github/{slug}/blob/{branch}/{NOTEBOOK_DIR}/{notebook}"
    )


def binder_url(notebook: str, url: str, branch: str) -> str:
    """mybinder.org builds the repository (requirements.txt) and opens the notebook."""
    slug = url.removeprefix("https://github.com/")
    path = quote(f"{NOTEBOOK_DIR}/{notebook}", safe="")
    return f"https://mybinder.org/v2/gh/{slug}/{branch}?labpath={path}"


def badges(notebook: str, url: str, branch: str) -> str:
    """Both badges as markdown, one line."""
    return (
        f"[![Open In Colab]({COLAB_BADGE})]({colab_url(notebook, url, branch)}) "
        f"[![Launch Binder]({BINDER_BADGE})]({binder_url(notebook, url, branch)})"
    )


def launch_cells(notebook: str, url: str, branch: str) -> list[dict]:
    """The badge cell and the Colab set-up cell, as nbformat 4 cells (never for a placeholder)."""
    refuse_placeholder(url)
    code = SETUP_CODE.format(clone=COLAB_CLONE, branch=branch, url=url)
    badge_cell = {
        "cell_type": "markdown",
        "id": BADGE_CELL_ID,
        "metadata": {"tags": list(SITE_TAGS)},
        "source": source_lines(badges(notebook, url, branch)),
    }
    setup_cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": SETUP_CELL_ID,
        "metadata": {"tags": list(SITE_TAGS)},
        "outputs": [],
        "source": source_lines(code),
    }
    return [badge_cell, setup_cell]


def source_lines(text: str) -> list[str]:
    """A cell's source as Jupyter saves it: lines, each but the last ending in a newline."""
    return text.splitlines(keepends=True)


def with_launch_cells(notebook: dict, name: str, url: str, branch: str) -> dict:
    """A copy of notebook with fresh launch cells after its first cell, old ones removed
    (and none added while url is a placeholder).

    Plain JSON, not nbformat: nbformat's validation would silently rewrite other cells
    (duplicate ids, for one), and this must change nothing but its own two cells.
    """
    cells = notebook["cells"]
    kept = [c for c in cells if LAUNCH_TAG not in c.get("metadata", {}).get("tags", [])]
    old = {c.get("id"): c for c in cells if LAUNCH_TAG in c.get("metadata", {}).get("tags", [])}
    if not is_published(url):
        return {**notebook, "cells": kept}
    fresh = launch_cells(name, url, branch)
    setup = old.get(SETUP_CELL_ID)
    if setup is not None and setup["source"] == fresh[1]["source"]:  # keep its saved run
        fresh[1] = setup
    return {**notebook, "cells": kept[:1] + fresh + kept[1:]}


def dumps(notebook: dict) -> str:
    """JSON as Jupyter and nbformat write it (one-space indent, sorted keys, UTF-8)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebooks(folder: Path) -> list[Path]:
    """The course's notebooks in folder, in teaching order (helpers.course)."""
    return [path for path in course.paths(folder) if path.exists()]


def readme_links(notebook: str, url: str, branch: str) -> str:
    """The README map's launch cell for notebook: two links, or UNPUBLISHED."""
    if not is_published(url):
        return UNPUBLISHED
    colab, binder = colab_url(notebook, url, branch), binder_url(notebook, url, branch)
    return f"[Colab]({colab}) · [Binder]({binder})"


def with_readme_links(readme: str, url: str, branch: str) -> str:
    """readme with each notebook row's launch column made from url and branch."""

    def row(match: re.Match) -> str:
        links = readme_links(match["notebook"], url, branch)
        return match["head"] + links + match["tail"]

    return README_ROW.sub(row, readme)


def refresh(
    folder: Path,
    check: bool,
    pyproject: Path = REPO / "pyproject.toml",
    readme: Path | None = REPO / "README.md",
) -> list[Path]:
    """Paths (notebooks, the README) whose launch cells or links are missing or stale;
    written unless check."""
    url, branch = project_links(pyproject)
    stale = []
    for path in notebooks(folder):
        text = path.read_text(encoding="utf-8")
        new_text = dumps(with_launch_cells(json.loads(text), path.name, url, branch))
        if new_text != text:
            stale.append(path)
            if not check:
                path.write_text(new_text, encoding="utf-8")
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        new_text = with_readme_links(text, url, branch)
        if new_text != text:
            stale.append(readme)
            if not check:
                readme.write_text(new_text, encoding="utf-8")
    return stale


def publish(url: str, pyproject: Path = REPO / "pyproject.toml") -> None:
    """Write url as the repository's address in pyproject.toml (refused for a placeholder)."""
    url = check_url(url)
    refuse_placeholder(url)
    text = pyproject.read_text(encoding="utf-8")
    new_text, count = re.subn(r'(?m)^Repository = "[^"]*"', f'Repository = "{url}"', text)
    if count != 1:
        raise ValueError(f'{pyproject} has no one line `Repository = "..."` to replace')
    pyproject.write_text(new_text, encoding="utf-8")


def table(folder: Path, pyproject: Path = REPO / "pyproject.toml") -> str:
    """The badges, one `| notebook | launch |` row per notebook (refused while unpublished)."""
    url, branch = project_links(pyproject)
    refuse_placeholder(url)
    rows = ["| notebook | launch |", "|---|---|"]
    rows += [f"| `{p.name}` | {badges(p.name, url, branch)} |" for p in notebooks(folder)]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks, write none")
    parser.add_argument("--table", action="store_true", help="print the badges, one row each")
    parser.add_argument("--publish", metavar="URL", help="set the repository's address, refresh")
    parser.add_argument("--notebooks", type=Path, default=REPO / NOTEBOOK_DIR)
    parser.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    args = parser.parse_args(argv)
    try:
        if args.publish:
            publish(args.publish, args.pyproject)
        if args.table:
            print(table(args.notebooks, args.pyproject))
            return 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = refresh(args.notebooks, check=args.check, pyproject=args.pyproject, readme=args.readme)
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.name}")
    if args.check and stale:
        print("Run: python docs/launch.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

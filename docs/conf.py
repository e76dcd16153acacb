"""Sphinx configuration of the course site. Build it with `python docs/build.py` (see there).

The source folder is a staging copy that docs/build.py assembles (README as index, the
notebooks as saved, the other pages); this file is read from docs/ with `sphinx-build -c docs`.
Notebooks are never executed: the site shows the outputs committed with them.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch import is_published, project_links  # noqa: E402 - docs/ is not a package

repository_url, branch = project_links()

project = "Pretrained models and transfer learning"
author = "the course authors"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# myst-nb: show the saved outputs, run nothing
nb_execution_mode = "off"
nb_merge_streams = True
myst_heading_anchors = 3  # `[text](#a-heading)` and `[text](PAGE.md#a-heading)` resolve
myst_enable_extensions = ["dollarmath", "colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
# Widgets draw from their saved state with the ipywidgets HTML manager's one-file bundle:
# docs/build.py serves it from the site (or names its CDN copy) and says which here.
_widgets_js = os.environ.get("COURSE_WIDGETS_JS")
if _widgets_js:
    nb_ipywidgets_js = {_widgets_js: {}}

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "use_download_button": True,
    "home_page_in_toc": True,
}
if is_published(repository_url):  # a placeholder address gets no buttons: they would fail
    html_theme_options |= {
        "repository_url": repository_url,
        "repository_branch": branch,
        "path_to_docs": "",  # the staging folder mirrors the repository's layout
        "use_repository_button": True,
        "launch_buttons": {
            "colab_url": "https://colab.research.google.com",
            "binderhub_url": "https://mybinder.org",
            "notebook_interface": "jupyterlab",
        },
    }
html_last_updated_fmt = None


# The language switch at the top of every page: a notebook's leads to the same notebook in the
# other language (notebooks/X <-> notebooks/ko/X), the two homes lead to each other, and pages
# with no Korean version (the glossary is bilingual already) lead to the Korean home.
KOREAN_HOME = "README.ko"
KOREAN_NOTEBOOKS = "notebooks/ko/"


def counterpart(pagename: str) -> tuple[str, str]:
    """(the page in the other language, that language's code) for a page's switch."""
    if pagename == "index":
        return KOREAN_HOME, "ko"
    if pagename == KOREAN_HOME:
        return "index", "en"
    if pagename.startswith(KOREAN_NOTEBOOKS):
        return "notebooks/" + pagename.removeprefix(KOREAN_NOTEBOOKS), "en"
    if pagename.startswith("notebooks/"):
        return KOREAN_NOTEBOOKS + pagename.removeprefix("notebooks/"), "ko"
    return KOREAN_HOME, "ko"


LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


def language_switch(app, pagename, templatename, context, doctree):
    if "body" not in context:
        return
    target, language = counterpart(pagename)
    if target not in app.env.all_docs:
        return
    href = app.builder.get_relative_uri(pagename, target)
    link = (
        f'<p class="language-switch"><a href="{href}" hreflang="{language}" lang="{language}">'
        f"{LANGUAGE_NAMES[language]}</a></p>\n"
    )
    context["body"] = link + context["body"]
    if pagename == KOREAN_HOME or pagename.startswith(KOREAN_NOTEBOOKS):
        context["language"] = "ko"  # <html lang="ko"> where the theme writes it


def setup(app):
    app.connect("html-page-context", language_switch)

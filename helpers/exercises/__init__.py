"""Checks for the notebooks' exercises: one module per notebook (nb01, nb02, ...).

Every check prints feedback a learner can act on and returns True or False, so tests (and
teachers) can use the result. Shared by all notebooks.
"""

from __future__ import annotations

import html


def feedback(correct: bool, success: str, hint: str) -> bool:
    """Print 'Correct: <success>' or 'Not yet: <hint>', and return correct."""
    print(f"Correct: {success}" if correct else f"Not yet: {hint}")
    return correct


def reveal_after_prediction(prediction, result: str, summary: str) -> None:
    """Print result once the learner's prediction is set (not None). Before that, show it only
    inside a collapsed box titled summary, so that a notebook saved before anyone predicted does
    not give the answer away (a Markdown output: Jupyter, GitHub and the course site fold it)."""
    if prediction is not None:
        print(result)
        return
    from IPython.display import Markdown, display

    summary = f"<summary>{html.escape(summary)}</summary>"
    display(Markdown(f"<details>{summary}\n\n```text\n{result}\n```\n\n</details>"))

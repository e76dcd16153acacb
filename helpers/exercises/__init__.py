"""Checks for the notebooks' exercises: one module per notebook (nb01, nb02, ...).

Every check prints feedback a learner can act on and returns True or False, so tests (and
teachers) can use the result. Shared by all notebooks.
"""

from __future__ import annotations


def feedback(correct: bool, success: str, hint: str) -> bool:
    """Print 'Correct: <success>' or 'Not yet: <hint>', and return correct."""
    print(f"Correct: {success}" if correct else f"Not yet: {hint}")
    return correct

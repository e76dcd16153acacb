"""Checks for notebook 06's exercises (your own photos: survey, split, export)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from helpers import data, training
from helpers.exercises import feedback


def check_class_ratio(answer, counts: Mapping[str, int]) -> bool:
    """Exercise 1: the survey's imbalance measure, photos of the largest class over the smallest."""
    if not isinstance(answer, numbers.Real) or isinstance(answer, bool):
        return feedback(False, "", "answer with a number: largest class / smallest class.")
    largest = max(counts, key=counts.get)
    smallest = min(counts, key=counts.get)
    if not counts[smallest]:
        return feedback(False, "", f"{smallest!r} has no photos: add some before training.")
    expected = counts[largest] / counts[smallest]
    if expected != 1 and abs(answer - 1 / expected) < 0.01:
        return feedback(False, "", "that is smallest / largest: divide the other way round.")
    verdict = "a warning" if expected > data.IMBALANCE_RATIO else "no warning"
    return feedback(
        abs(answer - expected) < 0.01,
        f"{largest} {counts[largest]} / {smallest} {counts[smallest]} = {expected:.2f}, so "
        f"{verdict} (the survey warns above {data.IMBALANCE_RATIO:g}). With unbalanced classes "
        "a model can score well by favouring the large one: look at the confusion matrix.",
        "divide the largest value of survey.counts by the smallest.",
    )


def check_val_photos(answer, val_targets: Sequence[int], classes: Sequence[str], cls: str) -> bool:
    """Exercise 2: how many photos of class cls the split holds out for validation."""
    if cls not in classes:
        return feedback(False, "", f"{cls!r} is not a class here; the classes are {list(classes)}.")
    expected = sum(1 for target in val_targets if target == classes.index(cls))
    if not isinstance(answer, numbers.Integral) or isinstance(answer, bool):
        return feedback(False, "", "answer with a whole number of photos (an int).")
    return feedback(
        answer == expected,
        f"{expected} {cls} photos are in the val split. The split is stratified: every class "
        "keeps the same share, so a small class still has val photos to be judged on.",
        f'count the val targets equal to {cls!r}\'s index: datasets["val"].targets and '
        'datasets["val"].class_to_idx.',
    )


def _top(answer) -> tuple[object, object]:
    """(class, probability) from what the learner gives: top_predictions' list, one of its
    pairs, or a class name alone (probability None)."""
    if isinstance(answer, list) and answer:
        answer = answer[0]
    if isinstance(answer, tuple) and len(answer) == 2:
        return answer
    return answer, None


def check_reloaded_prediction(answer, model, photo, classes: Sequence[str], transform) -> bool:
    """Exercise 3: the reloaded export's most likely class for photo and its probability, which
    must be what the trained model (model, with classes and its val transform) says, right or
    wrong."""
    if answer is None:
        return feedback(False, "", "reload the file with training.load_exported, then predict.")
    expected_class, expected_probability = next(
        iter(training.predict_image(model, photo, transform, classes).items())
    )
    name, probability = _top(answer)
    if name != expected_class:
        return feedback(
            False,
            "",
            f"{name!r} is not what the trained model says for this photo. Ask the reloaded model, "
            "with the transform and classes that load_exported returns "
            "(predict.top_predictions), and answer with what it says.",
        )
    if not isinstance(probability, numbers.Real) or isinstance(probability, bool):
        return feedback(
            False,
            "",
            "the class is right; give its probability too: the (class, probability) pair that "
            "predict.top_predictions returns.",
        )
    if probability > 1:
        probability /= 100  # a percentage
    return feedback(
        abs(probability - expected_probability) < 0.005,
        f"the reloaded model says {expected_class!r} ({expected_probability:.1%}), like the model "
        "you trained: the file holds everything needed (weights, class names, preprocessing).",
        "the class is right, but the probability is not the trained model's: use the transform "
        "that load_exported returns.",
    )

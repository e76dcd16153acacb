"""Exercise checks for notebook 01 (ImageNet background).

Each check prints feedback (via helpers.exercises.feedback) and returns True or False.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from helpers import imagenet
from helpers.exercises import feedback, reveal_after_prediction
from helpers.models import ANT_CLASS, BEE_CLASS, imagenet_categories

GOLDEN_RETRIEVER = "golden retriever"
PRIMATE_RANGE = (365, 384)  # orangutan .. indri, the primates, both included
NORMALISATION_CHOICES = ("about the same", "a few points lower", "near chance (50%)")


def check_class_index(answer) -> bool:
    """Exercise 1: the class index of 'golden retriever' (an int)."""
    names = imagenet_categories()
    expected = names.index(GOLDEN_RETRIEVER)
    if answer is None:
        return feedback(False, "", "replace None with an int: search 'retriever' in the box above.")
    if isinstance(answer, str):
        return feedback(
            False, "", f"give the index as an int (e.g. 309), not the string {answer!r}."
        )
    if isinstance(answer, bool) or not isinstance(answer, int):
        return feedback(False, "", f"give the index as an int, not a {type(answer).__name__}.")
    if answer == expected:
        return feedback(True, f"names[{expected}] == {GOLDEN_RETRIEVER!r}.", "")
    if 0 <= answer < len(names):
        near = (
            " Indices start at 0: check for an off-by-one." if abs(answer - expected) == 1 else ""
        )
        return feedback(False, "", f"names[{answer}] is {names[answer]!r}, not a golden one.{near}")
    return feedback(False, "", f"{answer} is not a class index: they run from 0 to 999.")


def check_primate_count(answer) -> bool:
    """Exercise 2: how many classes lie in the primate range 365..384, both ends included."""
    first, last = PRIMATE_RANGE
    expected = last - first + 1
    if answer is None:
        return feedback(False, "", "replace None with a number of classes.")
    if answer == expected:
        return feedback(
            True,
            f"{expected} of the 1000 classes are primates, from orangutan to indri: "
            "fewer than one for every five dog breeds.",
            "",
        )
    if answer == expected - 1:
        return feedback(
            False, "", f"{last} - {first} leaves out one end: both {first} and {last} are primates."
        )
    if isinstance(answer, float) and answer < 1:
        return feedback(False, "", "give a count of classes, not a fraction.")
    return feedback(
        False,
        "",
        f"count the indices from {first} to {last}, both included "
        "(len(range(first, last + 1)) does it).",
    )


def _test_logits() -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (6, 1000) whose ant/bee decision is known, with distractors that are larger.

    Each row has its own level, so only comparing the two logits with each other decides:
    no threshold on one of them does (a bee row's bee logit can be lower than an ant row's)."""
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 1000, generator=generator)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])  # 0 = ants, 1 = bees
    levels = (4.0, -3.0, -1.0, 6.0, 0.5, 2.0)
    for row, (label, level) in enumerate(zip(labels, levels, strict=True)):
        logits[row, ANT_CLASS] = level + (1.0 if label == 0 else -1.0)
        logits[row, BEE_CLASS] = level + (-1.0 if label == 0 else 1.0)
        logits[row, 500] = 10.0  # the top class overall is a "cliff dwelling": ignore it
    return logits, labels


def check_ant_bee_classifier(predict: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 3: predict(logits (N, 1000)) -> (N,) tensor, 0 = ants and 1 = bees."""
    logits, labels = _test_logits()
    try:
        predictions = predict(logits.clone())
    except Exception as error:  # a learner's code may raise anything: report it, don't crash
        return feedback(False, "", f"your function raised {type(error).__name__}: {error}")
    if predictions is None:
        return feedback(False, "", "your function returns None: return a tensor of 0s and 1s.")
    predictions = torch.as_tensor(predictions)
    if predictions.shape != labels.shape:
        return feedback(
            False,
            "",
            f"expected one prediction per image, shape {tuple(labels.shape)}, got "
            f"{tuple(predictions.shape)}. Compare two columns of logits, row by row.",
        )
    if torch.equal(predictions.long(), labels):
        return feedback(True, "ImageNet's 'ant' and 'bee' logits already make a classifier.", "")
    if torch.equal(predictions.long(), 1 - labels):
        return feedback(
            False,
            "",
            "your predictions are flipped. The data set's class 0 is 'ants' (ImageNet 310) "
            "and class 1 is 'bees' (ImageNet 309): the ImageNet order is the other way round.",
        )
    if predictions.min() < 0 or predictions.max() > 1:
        return feedback(
            False,
            "",
            "predictions must be 0 (ants) or 1 (bees), not ImageNet class indices. Use only "
            f"logits[:, {ANT_CLASS}] and logits[:, {BEE_CLASS}].",
        )
    return feedback(
        False,
        "",
        f"some predictions are wrong. Compare only logits[:, {ANT_CLASS}] (ant) with "
        f"logits[:, {BEE_CLASS}] (bee); the largest of all 1000 logits is not what you want.",
    )


def show_normalisation_table(prediction, report: Mapping[str, Mapping[str, float]]) -> None:
    """Exercise 4's measurements (imagenet.compare_normalisations' report): printed once the
    learner's prediction is set, and until then folded in a collapsed box."""
    reveal_after_prediction(
        prediction,
        imagenet.format_report(report),
        "Predict first (set prediction above), then open: the measured table",
    )


def normalisation_outcome(right: float, wrong: float) -> str:
    """Which of NORMALISATION_CHOICES describes accuracy going from right to wrong (0..1)."""
    drop = right - wrong
    if drop <= 0.02:
        return NORMALISATION_CHOICES[0]
    if wrong >= 0.65:
        return NORMALISATION_CHOICES[1]
    return NORMALISATION_CHOICES[2]


def check_normalisation_prediction(
    prediction, report: Mapping[str, Mapping[str, float]], reference: str, forgotten: str
) -> bool:
    """Exercise 4: the predicted effect on ant/bee accuracy of the `forgotten` preprocessing,
    compared with `reference`, against what compare_normalisations measured (`report`)."""
    if prediction not in NORMALISATION_CHOICES:
        return feedback(False, "", f"choose one of {NORMALISATION_CHOICES}, got {prediction!r}.")
    right = report[reference]["ant/bee accuracy"]
    wrong = report[forgotten]["ant/bee accuracy"]
    outcome = normalisation_outcome(right, wrong)
    measured = f"measured: {right:.1%} with {reference}, {wrong:.1%} with {forgotten}"
    agreement = report[forgotten]["same top-1 class"]
    why = {
        NORMALISATION_CHOICES[0]: "Comparing just two logits is robust to this shift, but look "
        f"at the other column: only {agreement:.0%} of the images keep their top-1 class among "
        "all 1000, so the model's full output did change.",
        NORMALISATION_CHOICES[1]: "The first layers were trained on inputs in one range; "
        "moved out of it, their filters respond less as they learned to.",
        NORMALISATION_CHOICES[2]: "The inputs are far outside the range the first layers "
        "were trained on, so the features downstream are meaningless.",
    }[outcome]
    return feedback(
        prediction == outcome,
        f"{outcome} ({measured}). {why}",
        f"the measurement does not match {prediction!r}. Compare the ant/bee accuracy of the rows "
        f"{reference!r} and {forgotten!r} in the table above (it is printed now that you have "
        "predicted): how many points apart are they?",
    )

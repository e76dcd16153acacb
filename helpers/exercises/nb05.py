"""Checks for notebook 05's exercises (fixed extractor vs fine-tuning, and when to use which)."""

from __future__ import annotations

from collections.abc import Mapping

from helpers.exercises import feedback

CACHE_OPTIONS = {
    "a": "the backbone's weights change from epoch to epoch",
    "b": "data augmentation: every epoch sees new random crops and flips, so new features",
    "c": "the head is trained with a different optimizer",
    "d": "nothing: the cached way gives exactly the same model",
}
STRATEGIES = (
    "ImageNet's own head", "linear probe", "earlier-layer probe", "fine-tune", "from scratch",
)  # fmt: skip


def check_head_parameters(
    answer: int | None, in_features: int = 1280, num_classes: int = 2
) -> bool:
    """Exercise 1: how many values the fixed extractor trains (its new nn.Linear head)."""
    expected = in_features * num_classes + num_classes
    if answer == in_features * num_classes:
        return feedback(False, "", "close: you counted the weights; add the bias (one per class).")
    return feedback(
        answer == expected,
        f"{in_features} x {num_classes} weights + {num_classes} biases = {expected:,}: the "
        "head is all that learns, which is why training it on cached features takes seconds.",
        f"the head is nn.Linear({in_features}, {num_classes}): count its weight matrix and "
        "its bias, one per class.",
    )


def check_cache_limitation(answer: str | None) -> bool:
    """Exercise 2: what the cached features cannot reproduce of the tutorial's fixed extractor."""
    choice = (answer or "").strip().lower()[:1]
    hints = {
        "a": "the backbone is frozen in both ways: its weights never change. That is exactly "
        "why its features can be computed once.",
        "c": "the optimizer is a detail; both ways could use the same one. Look at the "
        "transform of the training data.",
        "d": "compare the training transforms: the tutorial way uses RandomResizedCrop and "
        "RandomHorizontalFlip, the cache refuses random transforms. Why?",
    }
    return feedback(
        choice == "b",
        "with a frozen backbone the only thing that changes between epochs is the input: "
        "random crops and flips. Cached features see one fixed view of each image; that is "
        "the price of the speed-up (you could cache several augmented copies instead).",
        hints.get(choice, f"pick one of {', '.join(CACHE_OPTIONS)} (see CACHE_OPTIONS)."),
    )


def check_rule_verdict(
    answer: str | None, study: Mapping, cell: str, first: str, second: str
) -> bool:
    """Exercise 3: what the one comparison rule (results.compare) concludes about two
    strategies of a cell of the saved strategy study, over its seeds."""
    from helpers import results

    runs = study["cells"][cell]["runs"]
    finals = {name: [run["final"] for run in runs[name]] for name in (first, second)}
    unit = "digits" if cell.endswith("different") else "photos"
    verdict = results.compare(first, finals[first], second, finals[second],
                              study["cells"][cell]["val_images"], unit)  # fmt: skip
    choice = (answer or "").strip().lower()
    if choice not in results.VERDICTS:
        return feedback(False, "", f"answer one of {', '.join(results.VERDICTS)}.")
    gaps = ", ".join(
        f"{(a - b) * study['cells'][cell]['val_images']:+.0f}"
        for a, b in zip(finals[first], finals[second], strict=True)
    )
    return feedback(
        choice == verdict.verdict,
        f"{verdict} The gaps of the {verdict.seeds} seeds, in {unit}: {gaps}.",
        f"pair the seeds: the gaps {first} - {second} are {gaps} {unit}. Is their mean more "
        f"than one {unit.rstrip('s')}, and does its 95% interval stay on one side of zero? Or call "
        "results.compare on the two lists and read its verdict.",
    )


def check_xray_strategy(answer: str | None, small_different: Mapping[str, float]) -> bool:
    """Exercise 4: the strategy for 30 labelled X-ray images, explained with measured numbers.

    small_different: {strategy: mean val accuracy} of the small, dissimilar (digits) cell of
    the saved strategy study.
    """
    choice = (answer or "").strip().lower()
    known = {name.lower(): name for name in STRATEGIES}
    measured = ", ".join(f"{name} {acc:.3f}" for name, acc in small_different.items())
    probes = {"linear probe", "earlier-layer probe"}
    best_probe = max((small_different.get(p, 0.0) for p in probes), default=0.0)
    correct = set(probes)
    if small_different.get("fine-tune", 0.0) > best_probe:
        correct.add("fine-tune")  # the notebook's own evidence says so; accept it
    hints = {
        "imagenet's own head": "ImageNet has no 'pneumonia' class: reading ImageNet's own "
        "outputs only works when the target classes are among its 1,000 (as ants and bees are).",
        "from scratch": "30 images cannot train millions of weights from random values; "
        f"in this notebook, with few digits: {measured}.",
        "fine-tune": "with 30 images, updating millions of weights overfits easily and costs "
        f"the most; in this notebook, with few digits: {measured}.",
    }
    if choice not in known:
        return feedback(False, "", f"answer one of {', '.join(STRATEGIES)}.")
    return feedback(
        known[choice] in correct,
        f"small and dissimilar data: keep the backbone frozen and train only a classifier, "
        f"ideally on features from an earlier, more generic layer (CS231n). Measured here "
        f"with few digits: {measured}.",
        hints.get(choice, "look at the small/different cell of the decision matrix."),
    )

"""Checks for notebook 05's exercises (fixed extractor vs fine-tuning, and when to use which)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from helpers import anatomy, comparison, models, results
from helpers.exercises import feedback

CACHE_OPTIONS = {
    "a": "nothing: as soon as any layer trains, no output can be computed once and reused",
    "b": "what blocks.5 outputs for each image (the input of blocks.6), computed once",
    "c": "the final pooled features, as in section 1",
    "d": "what blocks.6 outputs for each image, computed once",
}
CACHEABLE = "b"
STRATEGIES = (
    "ImageNet's own head", "linear probe", "earlier-layer probe", "fine-tune", "from scratch",
)  # fmt: skip
XRAY_CELL = "small different"  # 30 X-rays: few images, unlike ImageNet's photos
XRAY_MEASURED = {  # the exercise's strategy: the study's name for it
    "linear probe": comparison.LINEAR_PROBE,
    "earlier-layer probe": comparison.EARLIER_PROBE,
    "fine-tune": comparison.FINETUNE_RANDOM,
    "from scratch": comparison.FROM_SCRATCH,
}
_CHOICE = re.compile(r"\s*([a-z])(?:\)|\s|$)", re.IGNORECASE)


def head_parameters(in_features: int = 1280, num_classes: int = 2) -> int:
    """Exercise 1's answer: the values of a new nn.Linear(in_features, num_classes) head."""
    return in_features * num_classes + num_classes


def check_head_parameters(
    answer: int | None, in_features: int = 1280, num_classes: int = 2
) -> bool:
    """Exercise 1: how many values the fixed extractor trains (its new nn.Linear head)."""
    expected = head_parameters(in_features, num_classes)
    if isinstance(answer, bool):
        answer = None
    if answer == in_features * num_classes:
        return feedback(False, "", "close: you counted the weights; add the bias (one per class).")
    return feedback(
        answer == expected,
        f"{in_features} x {num_classes} weights + {num_classes} biases = {expected:,}: the "
        "head is all that learns, which is why training it on cached features takes seconds.",
        "the new head is an nn.Linear from the backbone's features (how many per image?) to one "
        "output per class: count its weight matrix and its bias.",
    )


def check_cacheable_part(answer: str | None) -> bool:
    """Exercise 2: what can still be cached when blocks.6, conv_head and the head train, the
    groups below stay frozen, and the training photos are not augmented."""
    match = _CHOICE.match(answer or "") if isinstance(answer, str) else None
    choice = match.group(1).lower() if match else ""
    hints = {
        "a": "the groups below blocks.6 never change (frozen weights, and BatchNorm in inference "
        "mode keeps their statistics), and without augmentation neither does their input: what "
        "would they output for an image in epoch 5 that they did not output in epoch 1?",
        "c": "the final pooled features come out of blocks.6 and conv_head, which now learn: "
        "they change after every optimizer step.",
        "d": "blocks.6 learns now: its output for the same image changes after every step.",
    }
    return feedback(
        choice == CACHEABLE,
        "the frozen groups below blocks.6 turn the same image into the same output every epoch, "
        "so that output can be computed once; only blocks.6, conv_head and the head run in every "
        "epoch (their BatchNorm layers in eval mode, as training.fit keeps frozen ones). Notebook "
        "03's freeze-depth sweep did exactly this (freezing.stage_outputs). With augmentation, "
        "nothing could be cached: the input itself would change every epoch.",
        hints.get(choice, f"pick one of {', '.join(CACHE_OPTIONS)} (see CACHE_OPTIONS)."),
    )


def rule_verdict(study: Mapping, cell: str, first: str, second: str) -> results.Comparison:
    """Exercise 3's answer: the comparison rule on two strategies of a cell of the study."""
    runs = study["cells"][cell]["runs"]
    finals = {name: [run["final"] for run in runs[name]] for name in (first, second)}
    unit = "digits" if cell.endswith("different") else "photos"
    return results.compare(first, finals[first], second, finals[second],
                           study["cells"][cell]["val_images"], unit)  # fmt: skip


def check_rule_verdict(
    answer: str | None, study: Mapping, cell: str, first: str, second: str
) -> bool:
    """Exercise 3: what the one comparison rule (results.compare) concludes about two
    strategies of a cell of the saved strategy study, over its seeds."""
    runs = study["cells"][cell]["runs"]
    finals = {name: [run["final"] for run in runs[name]] for name in (first, second)}
    unit = "digits" if cell.endswith("different") else "photos"
    verdict = rule_verdict(study, cell, first, second)
    choice = (answer or "").strip().lower() if isinstance(answer, str) else ""
    if choice not in results.VERDICTS:
        return feedback(False, "", f"answer one of {', '.join(results.VERDICTS)}.")
    gaps = ", ".join(
        f"{(a - b) * study['cells'][cell]['val_images']:+.0f}"
        for a, b in zip(finals[first], finals[second], strict=True)
    )
    if choice == "cannot say" and verdict.verdict != "cannot say":
        return feedback(
            False,
            "",
            f"'cannot say' is the rule's answer for fewer than {results.MIN_SEEDS} seeds; the "
            f"study has {verdict.seeds}, so the rule decides: ahead or tie. The gaps {first} - "
            f"{second} are {gaps} {unit}.",
        )
    return feedback(
        choice == verdict.verdict,
        f"{verdict} The gaps of the {verdict.seeds} seeds, in {unit}: {gaps}.",
        f"pair the seeds: the gaps {first} - {second} are {gaps} {unit}. Is their mean more "
        f"than one {unit.rstrip('s')}, and does its 95% interval stay on one side of zero? Or call "
        "results.compare on the two lists and read its verdict.",
    )


def xray_right_answers(study: Mapping) -> set[str]:
    """Exercise 4's answers: the strategy with the highest mean in the study's small, dissimilar
    cell, and every strategy the comparison rule cannot tell from it."""
    cell = study["cells"][XRAY_CELL]
    finals = {
        label: [run["final"] for run in cell["runs"][name]] for label, name in XRAY_MEASURED.items()
    }
    best = max(finals, key=lambda label: sum(finals[label]) / len(finals[label]))
    unit = "digits"
    right = {best}
    for label, values in finals.items():
        verdict = results.compare(best, finals[best], label, values, cell["val_images"], unit)
        if label != best and verdict.verdict == "tie":
            right.add(label)
    return right


def check_xray_strategy(answer: str | None, study: Mapping) -> bool:
    """Exercise 4: the strategy for 30 labelled X-ray images. The study's small, dissimilar cell
    (50 digits) decides, by the comparison rule; the reasons come with the feedback."""
    choice = (answer or "").strip().lower() if isinstance(answer, str) else ""
    known = {name.lower(): name for name in STRATEGIES}
    if choice not in known:
        return feedback(False, "", f"answer one of {', '.join(STRATEGIES)}.")
    cell = study["cells"][XRAY_CELL]
    means = {
        label: sum(run["final"] for run in cell["runs"][name]) / len(cell["runs"][name])
        for label, name in XRAY_MEASURED.items()
    }
    measured = ", ".join(f"{label} {accuracy:.3f}" for label, accuracy in means.items())
    hints = {
        "imagenet's own head": "ImageNet has no 'pneumonia' class: reading ImageNet's own "
        "outputs only works when the target classes are among its 1,000 (as ants and bees are).",
        "from scratch": "30 images cannot train millions of weights from random values.",
        "fine-tune": "with 30 images, updating millions of weights overfits easily and costs "
        "the most. How did the fine-tune do with 50 digits in section 8?",
        "linear probe": "close: a frozen backbone and a trained classifier is the right family. "
        "But the final layer's features are the most specific to ImageNet's photos. Which "
        "features suit X-rays better? Section 8 probed several layers.",
        "earlier-layer probe": "look again at the table of the 50-digit runs in section 8.",
    }
    return feedback(
        known[choice] in xray_right_answers(study),
        "small and dissimilar data: keep the backbone frozen and train only a classifier, "
        "ideally on features from an earlier, more generic layer (CS231n). Measured here "
        f"with 50 digits, mean of the final epochs: {measured}.",
        hints[choice],
    )


SWAP_CELL = "small similar"  # 12 ants/bees photos per seed: the probe's seeds draw the photos
SWAP_NAMES = ("ResNet-18", "Lite0")


def check_backbone_swap(
    num_features: int | None, answer: str | None, resnet_finals, resnet_data, study: Mapping
) -> bool:
    """Exercise 5: the linear probe of the small, similar cell on ResNet-18 instead of Lite0.
    num_features: how many features per image ResNet-18 gives the probe; answer: which backbone
    the rule puts ahead ("ResNet-18" or "Lite0"), or "tie" / "cannot say"; resnet_finals: the
    learner's final val accuracy of each of the study's seeds (seed k on the photos the study
    drew with seed k); the saved study gives Lite0's."""
    if resnet_data is None or resnet_finals is None:
        return feedback(
            False,
            "",
            "build resnet_data and run the probe for each of the "
            "study's seeds first (the hint in the exercise shows how).",
        )
    width = resnet_data.features(None)[0].shape[1]
    if num_features != width:
        return feedback(
            False,
            "",
            "print resnet_data.features(None)[0].shape: one row per "
            "photo, one column per feature. Or look at what ResNet-18's fc takes in.",
        )
    lite0 = [run["final"] for run in study["cells"][SWAP_CELL]["runs"][comparison.LINEAR_PROBE]]
    runs = _numbers(resnet_finals)
    if runs is None or len(runs) != len(lite0) or not all(0 <= value <= 1 for value in runs):
        return feedback(
            False,
            "",
            f"resnet_finals needs one val accuracy (0 to 1) for each of "
            f"the study's {len(lite0)} seeds, in seed order.",
        )
    verdict = results.compare(SWAP_NAMES[0], runs, SWAP_NAMES[1], lite0, resnet_data.val_images)
    expected = verdict.winner if verdict.verdict == "ahead" else verdict.verdict
    choice = answer.strip().lower() if isinstance(answer, str) else ""
    allowed = (*SWAP_NAMES, "tie", "cannot say")
    if choice not in {name.lower() for name in allowed}:
        return feedback(False, "", f"answer one of {', '.join(allowed)}.")
    built = {
        name: models.load_backbone(backbone, pretrained=False)
        for name, backbone in zip(
            SWAP_NAMES, (resnet_data.backbone, models.DEFAULT_BACKBONE), strict=True
        )
    }
    size = {name: sum(p.numel() for p in model.parameters()) / 1e6 for name, model in built.items()}
    lite0_width = anatomy.find_head(built["Lite0"])[1].in_features
    return feedback(
        choice == expected.lower(),
        f"{verdict}. What else changed: ResNet-18 gives the probe {width} features per image "
        f"where Lite0 gives {lite0_width:,}, and it has {size['ResNet-18']:.1f} M parameters "
        f"where Lite0 has {size['Lite0']:.1f} M (both with their ImageNet heads).",
        "pair the seeds (seed k of ResNet-18 with seed k of Lite0, the same 12 photos) and "
        "apply results.compare: 'ahead' only if the mean gap is over one photo and its 95% "
        "interval stays on one side of zero; then answer with the name of the one ahead.",
    )


def _numbers(values) -> list[float] | None:
    """values as a list of floats (a list, a tuple, a numpy array or a tensor), else None."""
    if values is None or isinstance(values, (str, bytes, Mapping)):
        return None
    try:
        return [float(value) for value in values]
    except (TypeError, ValueError):
        return None


NEW_DATA_CELL = ("small", "different")


def check_new_data_set(cell, finals, answer: str | None, val_images: int = 100) -> bool:
    """Exercise 6: the decision matrix on a data set the study never saw (the faces of
    comparison.FacesData). cell: where it sits, (size, similarity); finals: {strategy: final val
    accuracy of each seed}, with the advised strategy among them; answer: "agrees" if the
    advice names the best strategy or one the rule cannot tell from it, else "disagrees"."""
    sizes, similarities = ("small", "large"), ("similar", "different")
    if isinstance(cell, (list, tuple)) and all(isinstance(part, str) for part in cell):
        cell = tuple(part.strip().lower() for part in cell)
    else:
        cell = None
    if cell is None or len(cell) != 2:
        return feedback(
            False,
            "",
            "give the cell as two words, (size, similarity): size is small or large, "
            "similarity is similar or different.",
        )
    if cell[0] not in sizes or cell[1] not in similarities:
        return feedback(
            False, "", f"size is one of {sizes} and similarity one of {similarities}: {cell}."
        )
    if cell[0] != NEW_DATA_CELL[0]:
        return feedback(
            False,
            "",
            "200 crops in all, 100 to train: compare that with the "
            "'more data' cells of section 9 (244 photos, 1,297 digits), and with "
            "the 1.28 million images ImageNet trained on.",
        )
    if cell[1] != NEW_DATA_CELL[1]:
        return feedback(
            False,
            "",
            "'similar' is about the images: ImageNet's are colour photos of objects and "
            "animals, these are grey 25x25-pixel crops of faces and of the backgrounds around "
            "them. (Whether ImageNet has the class is a different question: section 9's ants "
            "and bees are ImageNet classes, which the advice does not assume.)",
        )
    advised = comparison.ADVISED[NEW_DATA_CELL]
    if not isinstance(finals, Mapping) or len(finals) < 2:
        return feedback(
            False,
            "",
            "finals needs at least two strategies, each with one val "
            "accuracy per seed: the advised one and what you compare it with.",
        )
    if not any(name.startswith(advised) for name in finals):
        return feedback(
            False,
            "",
            f"the advice for this cell is {advised[0]} ({comparison.EARLIER_PROBE}): run it too.",
        )
    seeds = {len(values) for values in finals.values()}
    if len(seeds) != 1 or seeds.pop() < results.MIN_SEEDS:
        return feedback(
            False,
            "",
            f"run every strategy with the same seeds, at least "
            f"{results.MIN_SEEDS} of them: the rule pairs seed k with seed k.",
        )
    race = [name for name in finals if name not in comparison.NOT_IN_ADVICE]
    if len(race) < 2:
        return feedback(
            False,
            "",
            "run at least one more strategy the advice considers besides the advised one: the "
            "raw-pixel probe is a reference, never a candidate, so with it alone the advised "
            "strategy would win a race of one.",
        )
    measured = comparison.MatrixCell("faces", dict(finals), val_images, "crops")
    choice = answer.strip().lower() if isinstance(answer, str) else ""
    if choice not in ("agrees", "disagrees"):
        return feedback(False, "", "answer agrees or disagrees.")
    follows = measured.follows(advised)
    return feedback(
        (choice == "agrees") == follows,
        f"small, different: {measured.verdict(advised)}",
        "among the strategies the advice considers (references such as the raw-pixel probe "
        "never lead), find the best mean, then the ones the rule cannot tell from it "
        "(comparison.MatrixCell(...).leaders() does both): is the advised one among them?",
    )

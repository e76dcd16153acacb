"""No exercise's answer is visible before the learner attempts it.

Two sides, both read from the answer keys in helpers/exercises:

- the committed notebooks: no output of a cell at or before an exercise's check cell shows that
  exercise's answer, in the forms it would be printed in (a number with or without thousands
  separators, a verdict sentence, a row of a results table). A result inside a collapsed
  <details> box is hidden until the learner opens it, so it does not count;
- the checks: called with None and with wrong answers, no check's "Not yet" message gives the
  expected answer, or the numbers that decide it, away. A message may list every choice.

Exercises whose answer is code, or is computed from the learner's own data at run time, cannot be
searched for as text; NOT_SCANNED says why for each, and a new exercise must be added to one of
the two tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms as T

from helpers import comparison, course, models, recipes, results
from helpers.exercises import nb01, nb02, nb02b, nb04, nb05, nb06
from helpers.training import EpochRecord, History

CHECK = re.compile(r"\b(nb0\d[a-z]?)\.(check_\w+)\(")
DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)


# ---------------------------------------------------------------- reading the notebooks


@cache
def _cells(notebook: str) -> list[dict]:
    path = course.by_number(notebook).path()
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _exercises() -> dict[tuple[str, str], int]:
    """{(notebook, check name): index of the exercise's check cell}."""
    found = {}
    for path in course.paths():
        notebook = path.stem.split("_")[0]
        for index, cell in enumerate(_cells(notebook)):
            source = _source(cell)
            if cell["cell_type"] == "code" and not source.startswith("# Solution"):
                for match in CHECK.finditer(source):
                    found.setdefault((notebook, match.group(2)), index)
    return found


def _shown(cell: dict) -> str:
    """What a reader sees of a cell's outputs, without what is folded in a <details> box."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        data = output.get("data", {})
        parts.append("".join(data.get("text/plain", "")))
        for kind in ("text/markdown", "text/html"):
            parts.append(DETAILS.sub("", "".join(data.get(kind, ""))))
        parts += [output.get("evalue", ""), "\n".join(output.get("traceback", []))]
    return "\n".join(parts)


def _all_output(notebook: str) -> str:
    return "\n".join(_shown(cell) for cell in _cells(notebook))


def _check_source(notebook: str, check: str) -> str:
    return _source(_cells(notebook)[_exercises()[notebook, check]])


# ---------------------------------------------------------------- printed forms of an answer


def number(value: float) -> list[re.Pattern]:
    """A number as the notebooks print it, as a whole token (not a part of 28.20% or 2070)."""
    if isinstance(value, int):
        forms = {str(value), f"{value:,}"}
    else:
        forms = {f"{value:.2f}", f"{value:.3f}", repr(value)}
    return [re.compile(rf"(?<![\w.,]){re.escape(form)}(?![\w]|[.,]\d)") for form in forms]


def words(*texts: str) -> list[re.Pattern]:
    return [re.compile(re.escape(text)) for text in texts]


def _first_int(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return int(match.group(1))


@cache
def _strategy_study() -> dict:
    return results.load_study("strategies", check=False)  # the numbers, not their freshness


def _normalisation_rows() -> list[re.Pattern]:
    source = _check_source("01", "check_normalisation_prediction")
    forgotten = re.search(r'report, "[^"]+", "([^"]+)"\)', source).group(1)
    return [re.compile(re.escape(forgotten) + r"\s+\d+(\.\d+)?%")]  # its row of the table


def _dense_block() -> list[re.Pattern]:
    channels = nb02.dense_block_channels()  # as section 2 prints a dense block's output
    return [re.compile(rf"block output: \(1, {channels},")]


def _steps() -> list[re.Pattern]:
    images = _first_int(r"train: (\d+) images", _all_output("04"))
    batch = _first_int(r"batch_size=(\d+)", _check_source("04", "check_steps_per_epoch"))
    return [re.compile(rf"(?<![\w.,]){nb04.steps_per_epoch(images, batch)} (steps|batches)\b")]


def _photos_apart() -> list[re.Pattern]:
    published = recipes.TUTORIAL_PUBLISHED
    val_images = _first_int(r"val: (\d+) images", _all_output("04"))
    gap = nb04.photos_apart(
        published["finetune_best_val_accuracy"],
        published["fixed_extractor_best_val_accuracy"],
        val_images,
    )
    return number(gap)


def _head_parameters() -> list[re.Pattern]:
    classes = _first_int(r"num_classes=(\d+)", _check_source("05", "check_head_parameters"))
    features = 1280  # the backbone's pooled features, as section 1 prints them
    assert f"(244, {features})" in _all_output("05")
    return number(nb05.head_parameters(features, classes)) + words(
        f"Linear({features}, {classes})", f"{features} x {classes}"
    )


def _rule_verdict() -> list[re.Pattern]:
    source = _check_source("05", "check_rule_verdict")
    cell = re.search(r'cell = "([^"]+)"', source)
    assert cell and "comparison.RAW_PROBE, comparison.LINEAR_PROBE" in source
    verdict = nb05.rule_verdict(
        _strategy_study(), cell.group(1), comparison.RAW_PROBE, comparison.LINEAR_PROBE
    )
    sentence = str(verdict)
    return words(sentence, sentence.split(": ")[1])  # the whole line, and "tie between A and B"


ANSWERS_SHOWN: dict[tuple[str, str], Callable[[], list[re.Pattern]]] = {
    ("01", "check_class_index"): lambda: number(
        models.imagenet_categories().index(nb01.GOLDEN_RETRIEVER)
    ),
    ("01", "check_primate_count"): lambda: number(
        nb01.PRIMATE_RANGE[1] - nb01.PRIMATE_RANGE[0] + 1
    ),
    ("01", "check_normalisation_prediction"): _normalisation_rows,
    ("02", "check_conv_parameters"): lambda: number(nb02.conv_parameters()),
    ("02", "check_dense_block_channels"): _dense_block,
    ("02", "check_separable_savings"): lambda: number(STANDARD / SEPARABLE),
    ("02b", "check_weights_facts"): lambda: [
        pattern
        for value in (
            torchvision.models.get_model_weights("efficientnet_b0").DEFAULT.meta["_file_size"],
            torchvision.models.get_model_weights("efficientnet_b0").DEFAULT.meta["_metrics"][
                "ImageNet-1K"
            ]["acc@5"],
        )
        for pattern in number(value)
    ],
    ("04", "check_steps_per_epoch"): _steps,
    ("04", "check_photos_apart"): _photos_apart,
    ("05", "check_head_parameters"): _head_parameters,
    ("05", "check_rule_verdict"): _rule_verdict,
}
CODE = "its answer is code; what the cells above it show is reviewed by hand (REVIEW.md)"
NOT_SCANNED = {
    ("01", "check_ant_bee_classifier"): CODE,
    ("02", "check_most_accurate_under"): "the exercise filters the landscape table printed "
    "above it: every model's name is part of its data",
    ("02b", "check_timm_transform"): CODE,
    ("03", "check_freeze_all_but"): CODE,
    ("03", "check_optimizer"): CODE,
    ("03", "check_batchnorm_modes"): CODE,
    ("03", "check_discriminative"): CODE,
    ("03", "check_seed_verdict"): "judged on the learner's own six runs, which the committed "
    "notebook does not run",
    ("04", "check_lr_groups"): CODE,
    ("04", "check_fixed_extractor"): CODE,
    ("04", "check_augmentation_gap"): "judged on the learner's two training runs, which the "
    "committed notebook does not run (RUN_EXERCISE_4 = False)",
    ("05", "check_cacheable_part"): "a choice among options that the exercise cell prints",
    ("05", "check_xray_strategy"): "the learner places the X-rays in the lesson's decision "
    "matrix; the matrix itself is the lesson",
    ("05", "check_backbone_swap"): "judged on the learner's own ResNet-18 runs, which the "
    "committed notebook does not run (they need a download)",
    ("05", "check_new_data_set"): "judged on the learner's own runs on the faces, which the "
    "committed notebook does not run; where the faces sit is read off the decision matrix",
    ("06", "check_class_ratio"): "computed from the learner's own folder at run time",
    ("06", "check_val_photos"): "computed from the learner's own folder at run time",
    ("06", "check_reloaded_prediction"): "computed from the learner's own model at run time",
}


def test_every_exercise_is_searched_or_says_why_not():
    exercises = set(_exercises())
    assert len(exercises) >= 25
    assert not set(ANSWERS_SHOWN) & set(NOT_SCANNED)
    assert exercises == set(ANSWERS_SHOWN) | set(NOT_SCANNED)


@pytest.mark.parametrize("key", sorted(ANSWERS_SHOWN), ids="-".join)
def test_no_output_shows_the_answer_before_its_check(key):
    notebook, check = key
    patterns = ANSWERS_SHOWN[key]()
    assert patterns
    last = _exercises()[key]
    for index, cell in enumerate(_cells(notebook)[: last + 1]):
        shown = _shown(cell)
        for pattern in patterns:
            found = pattern.search(shown)
            assert not found, (
                f"notebook {notebook}, cell {index} ({cell.get('id')}), at or before the check "
                f"of {check}: its output shows the answer: "
                f"...{shown[max(0, found.start() - 60) : found.end() + 20]}..."
            )


def test_a_folded_result_is_hidden_and_an_open_one_is_not():
    """The search itself: what sits in a <details> box is hidden, the rest is seen."""
    table = "none, [0, 1]   96.7%   71.2%"
    box = f"<details><summary>open</summary>\n\n```text\n{table}\n```\n\n</details>"
    folded = {"data": {"text/markdown": [box]}}
    assert _normalisation_rows()[0].search(_shown({"outputs": [{"text": table}]}))
    assert not _normalisation_rows()[0].search(_shown({"outputs": [folded]}))
    assert not number(20)[0].search("28.20% in 2010") and number(20)[0].search("= 20 classes")


# ---------------------------------------------------------------- the checks' messages


def _history(train_accuracy: float, val_accuracy: float) -> History:
    return History(records=[EpochRecord(1, 0.1, train_accuracy, 0.2, val_accuracy, 1.0, 1e-3)])


def _study(cell: str, runs: dict[str, list[int]], val_images: int = 500) -> dict:
    finals = {name: [{"final": r / val_images} for r in rights] for name, rights in runs.items()}
    return {"cells": {cell: {"val_images": val_images, "runs": finals}}}


class SaysBees(nn.Module):
    """A trained model that gives every photo the logits (0, 2): 'bees' with 88.1%."""

    def forward(self, images):
        return torch.tensor([[0.0, 2.0]]).expand(len(images), 2)


def _eval_transform(mean, std, size: int = 256):
    return T.Compose([T.Resize(size), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])


@dataclass
class Case:
    """A check called with wrong answers; forms: the expected answer's printed forms; choices:
    the options that a message may list in full."""

    check: Callable[..., bool]
    wrong: list
    forms: Callable[[], list[re.Pattern]]
    call: Callable = staticmethod(lambda check, answer: check(answer))
    choices: tuple[str, ...] = ()


def _index():
    return models.imagenet_categories().index(nb01.GOLDEN_RETRIEVER)


PRIMATES = nb01.PRIMATE_RANGE[1] - nb01.PRIMATE_RANGE[0] + 1
REPORT = {  # notebook 01's measurements: [0, 1] pixels are "about the same"
    "right": {"ant/bee accuracy": 0.974, "same top-1 class": 1.0},
    "[0, 1]": {"ant/bee accuracy": 0.967, "same top-1 class": 0.712},
}
OUTCOME = nb01.normalisation_outcome(0.974, 0.967)
STANDARD, SEPARABLE = nb02.separable_savings()
WEIGHTS = torchvision.models.get_model_weights("efficientnet_b0").DEFAULT
TOP1, TOP5 = (WEIGHTS.meta["_metrics"]["ImageNet-1K"][k] for k in ("acc@1", "acc@5"))
SIZE = WEIGHTS.meta["_file_size"]
RUNS = (_history(0.90, 0.95), _history(0.99, 0.94))  # with, without: the larger gap without
TIE = _study("small similar", {"fine-tune": [150, 140, 152], "probe": [145, 145, 145]}, 153)
AHEAD = _study("small similar", {"fine-tune": [150, 149, 151], "probe": [145, 145, 146]}, 153)
XRAYS = _study("small different", {
    comparison.LINEAR_PROBE: [360, 350, 371], comparison.EARLIER_PROBE: [420, 425, 421],
    comparison.FINETUNE_RANDOM: [340, 330, 352], comparison.FROM_SCRATCH: [180, 190, 178],
})  # fmt: skip
BEES = float(torch.tensor([0.0, 2.0]).softmax(0)[1])


def _verdict_forms(study) -> list[re.Pattern]:
    sentence = str(nb05.rule_verdict(study, "small similar", "fine-tune", "probe"))
    interval = re.search(r"interval [^,)]+", sentence)  # "interval -0.5 to +14.5"
    return words(sentence, sentence.split(": ")[1], *([interval.group(0)] if interval else []))


def _reloaded(check, answer):
    return check(answer, SaysBees(), Image.new("RGB", (8, 8)), ["ants", "bees"], _zeros)


def _zeros(image):
    return torch.zeros(3, 8, 8)


CASES = {
    "01 class index": Case(
        nb01.check_class_index, [None, 208, 1207, "x", 2.5], lambda: number(_index())
    ),
    "01 primates": Case(
        nb01.check_primate_count,
        [None, PRIMATES - 1, PRIMATES + 1, 0.02, "20"],
        lambda: number(PRIMATES),
    ),
    "01 normalisation": Case(
        nb01.check_normalisation_prediction,
        [c for c in nb01.NORMALISATION_CHOICES if c != OUTCOME] + [None],
        lambda: words(OUTCOME, "96.7%", "71%", "71.2%"),
        lambda check, answer: check(answer, REPORT, "right", "[0, 1]"),
        nb01.NORMALISATION_CHOICES,
    ),
    "02 conv": Case(
        nb02.check_conv_parameters,
        [None, 128 * 256 * 9, 128 * 9 + 1, 12345, "x"],
        lambda: number(nb02.conv_parameters()),
    ),
    "02 dense block": Case(
        nb02.check_dense_block_channels,
        [None, 192, 32, 100],
        lambda: number(nb02.dense_block_channels()),
    ),
    "02 separable": Case(
        nb02.check_separable_savings,
        [None, 9, SEPARABLE / STANDARD, 5],
        lambda: number(STANDARD / SEPARABLE),
    ),
    "02 landscape": Case(
        nb02.check_most_accurate_under,
        [None, "resnet18", "mobilenet_v3_small", "not_a_model"],
        lambda: words(nb02.most_accurate_under(1.0, 5.0)),
    ),
    "02b weights": Case(
        nb02b.check_weights_facts,
        [None, (TOP1, SIZE), (TOP5, WEIGHTS.meta["num_params"] / 1e6), TOP5, (1.0, 2.0)],
        lambda: number(TOP5) + number(SIZE),
    ),
    "02b transform": Case(
        nb02b.check_timm_transform,
        [
            None,
            _eval_transform(models.IMAGENET_MEAN, models.IMAGENET_STD),
            T.Compose([T.ToTensor()]),
            _eval_transform((0.5,) * 3, (0.5,) * 3, size=240),
        ],
        lambda: words("create_transform(**", "resolve_model_data_config(m)"),
    ),
    "04 steps": Case(
        nb04.check_steps_per_epoch,
        [None, 7, 20, 8.0],
        lambda: number(nb04.steps_per_epoch(244, 32)),
        lambda check, answer: check(answer, 244, 32),
    ),
    "04 photos": Case(
        nb04.check_photos_apart,
        [None, 0.013, 5, 1.5, "2"],
        lambda: number(nb04.photos_apart(0.948, 0.935, 153)) + words("2 photo"),
        lambda check, answer: check(answer, 0.948, 0.935, 153),
    ),
    "04 augmentation": Case(
        nb04.check_augmentation_gap,
        ["with"],
        lambda: words("0.050"),
        lambda check, answer: check(answer, *RUNS),
    ),
    "05 head": Case(
        nb05.check_head_parameters,
        [None, 1280 * 10, 12800, 1],
        lambda: number(nb05.head_parameters(1280, 10)) + words("Linear(1280, 10)", "1280 x 10"),
        lambda check, answer: check(answer, num_classes=10),
    ),
    "05 cache": Case(
        nb05.check_cacheable_part,
        [c for c in nb05.CACHE_OPTIONS if c != nb05.CACHEABLE] + [None, "banana"],
        lambda: words(nb05.CACHE_OPTIONS[nb05.CACHEABLE], "blocks.5"),
    ),
    "05 rule, a tie": Case(
        nb05.check_rule_verdict,
        ["ahead", "cannot say", None, "maybe"],
        lambda: _verdict_forms(TIE),
        lambda check, answer: check(answer, TIE, "small similar", "fine-tune", "probe"),
        results.VERDICTS,
    ),
    "05 rule, ahead": Case(
        nb05.check_rule_verdict,
        ["tie", "cannot say", None],
        lambda: _verdict_forms(AHEAD),
        lambda check, answer: check(answer, AHEAD, "small similar", "fine-tune", "probe"),
        results.VERDICTS,
    ),
    "05 x-rays": Case(
        nb05.check_xray_strategy,
        ["ImageNet's own head", "linear probe", "fine-tune", "from scratch", None, "transfer"],
        lambda: words(*nb05.xray_right_answers(XRAYS), "0.721", "0.844", "0.681", "0.366"),
        lambda check, answer: check(answer, XRAYS),
        nb05.STRATEGIES,
    ),
    "06 ratio": Case(
        nb06.check_class_ratio,
        [None, 193 / 204, 1.1, True, 2],
        lambda: number(204 / 193),
        lambda check, answer: check(answer, {"ants": 193, "bees": 204}),
    ),
    "06 val photos": Case(
        nb06.check_val_photos,
        [None, 2, 3.0, 4],
        lambda: number(3),
        lambda check, answer: check(answer, [0, 0, 1, 1, 1], ["ants", "bees"], "bees"),
    ),
    "06 reloaded": Case(
        nb06.check_reloaded_prediction,
        [None, "ants", [("ants", 1 - BEES)], ("bees", 0.5), "bees"],
        lambda: words("'bees' (", "says 'bees'", f"{BEES:.1%}", f"{BEES:.3f}"),
        _reloaded,
    ),
}


def _gives_away(message: str, forms: list[re.Pattern], choices: tuple[str, ...]) -> str | None:
    """The first printed form of the answer found in message, unless it is one of the choices
    and the message lists them all."""
    listing = bool(choices) and all(choice in message for choice in choices)
    for pattern in forms:
        found = pattern.search(message)
        if found and not (listing and found.group(0) in choices):
            return found.group(0)
    return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_not_yet_message_gives_the_answer_away(name, capsys):
    case = CASES[name]
    forms = case.forms()
    for answer in case.wrong:
        assert case.call(case.check, answer) is False, f"{name}: {answer!r} passed"
        message = capsys.readouterr().out
        assert message.startswith("Not yet: "), message
        leaked = _gives_away(message, forms, case.choices)
        assert not leaked, f"{name}: the answer {leaked!r} shows in {message.strip()!r}"


def test_every_check_with_a_value_answer_has_a_message_case():
    checks = {case.check.__name__ for case in CASES.values()}
    value_answers = {check for _, check in ANSWERS_SHOWN}
    assert value_answers <= checks


def test_the_message_search_finds_a_leak():
    """The search itself: an answer in a message is found, a full list of choices is not."""
    forms, choices = words("about the same"), nb01.NORMALISATION_CHOICES
    assert _gives_away("Not yet: the outcome was 'about the same'.", forms, choices)
    assert not _gives_away(f"Not yet: choose one of {choices}, got None.", forms, choices)
    assert _gives_away("Not yet: 12,810 values.", number(12810), ())

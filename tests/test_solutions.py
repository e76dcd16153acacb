"""Every exercise's answer key, as the notebook prints it, passes the exercise's own check.

The solutions are read out of the notebooks (a "# Solution" code cell, or the python block or
the answer in a "Solution" box), run after the exercise cell's set-up lines, and then the
exercise cell's check line(s) are run; every check must return True. A broken answer key, or a
check that no longer accepts it, fails here and not in front of a learner.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from helpers import course

CHECK = re.compile(r"\b(nb0\d[a-z]?)\.(check_\w+)\(")
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Exercise:
    notebook: str
    check: str
    exercise: str  # the exercise cell's source
    solution: str  # the solution cell's source (code or markdown)
    solution_is_code: bool


def _exercises() -> list[Exercise]:
    found = []
    for path in course.paths():
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            source = "".join(cell["source"])
            match = CHECK.search(source)
            if cell["cell_type"] != "code" or not match or source.startswith("# Solution"):
                continue
            after = cells[index + 1] if index + 1 < len(cells) else None
            text = "".join(after["source"]) if after else ""
            is_code = after is not None and after["cell_type"] == "code"
            if not (is_code and text.startswith("# Solution")) and "Solution</summary>" not in text:
                text = ""
            found.append(Exercise(path.stem.split("_")[0], match.group(2), source, text, is_code))
    return found


EXERCISES = {(e.notebook, e.check): e for e in _exercises()}

# Answers given in words: the value to try, and the words the solution box must show for it.
PROSE_ANSWERS = {
    ("01", "check_class_index"): ("answer = 207", "207"),
    ("01", "check_primate_count"): ("answer = 384 - 365 + 1", "384 - 365 + 1 == 20"),
    ("05", "check_cacheable_part"): ('answer = "b"', "b) What blocks.5 outputs"),
    ("05", "check_xray_strategy"): ('answer = "earlier-layer probe"', "earlier-layer features"),
}
# Exercises without a fixed answer key, and why.
NO_KEY = {
    ("01", "check_normalisation_prediction"): "a prediction, judged on the learner's own table",
    ("04", "check_augmentation_gap"): "judged on the learner's own two training runs",
}


def _namespace(notebook: str, cache_dir=None) -> dict:
    """What the notebook has defined by the time its exercises run (the parts they use)."""
    import timm
    import torch
    import torchvision
    from torch import nn

    from helpers import architectures as arch
    from helpers import data, freezing, imagenet, models, predict, recipes, training

    checks = {  # a notebook without exercises has no module of checks
        f"nb{number}": importlib.import_module(f"helpers.exercises.nb{number}")
        for number in course.numbers()
        if importlib.util.find_spec(f"helpers.exercises.nb{number}") is not None
    }
    namespace = {
        "torch": torch, "nn": nn, "arch": arch, "data": data, "freezing": freezing,
        "imagenet": imagenet, "models": models, "recipes": recipes, "training": training,
        "predict": predict, "timm": timm, "torchvision": torchvision,
    }  # fmt: skip
    namespace.update(checks)
    defined = DEFINED_IN.get(notebook)
    if defined is not None:
        defined(namespace, cache_dir)
    return namespace


def _defined_in_02(namespace: dict, cache_dir) -> None:
    from helpers import architectures as arch

    namespace["cards"] = arch.landscape()


def _defined_in_03(namespace: dict, cache_dir) -> None:
    from helpers import freezing, models, results

    model = models.replace_head(models.load_backbone(pretrained=False), 2)
    freezing.head_only(model)

    def sweep_run(k, seed=0):  # the notebook's sweep run, as fixed numbers per (k, seed)
        accuracy = {7: (0.93, 0.95, 0.94), 9: (0.90, 0.91, 0.89)}[k][seed]
        return None, SimpleNamespace(final=SimpleNamespace(val_accuracy=accuracy))

    namespace.update(model=model, sweep_run=sweep_run, val_images=153, results=results)


def _defined_in_04(namespace: dict, cache_dir) -> None:
    from helpers import models, recipes

    sizes = {"train": 244, "val": 153}  # after the exclusion, as in the notebook
    datasets = {split: range(n) for split, n in sizes.items()}
    namespace.update(
        datasets=datasets,
        loaders={s: range(-(-n // recipes.COURSE_BATCH_SIZE)) for s, n in sizes.items()},
        BACKBONE=models.DEFAULT_BACKBONE,
    )


def _defined_in_05(namespace: dict, cache_dir) -> None:
    from helpers import comparison, results

    namespace.update(comparison=comparison, results=results)
    large = {comparison.RAW_PROBE: [473, 474, 472], comparison.LINEAR_PROBE: [466, 464, 468]}
    small = {
        comparison.LINEAR_PROBE: [400, 380, 390], comparison.EARLIER_PROBE: [430, 420, 425],
        comparison.FINETUNE_RANDOM: [220, 260, 240], comparison.FROM_SCRATCH: [50, 60, 55],
    }  # fmt: skip

    def cell(rights):
        runs = {name: [{"final": r / 500} for r in values] for name, values in rights.items()}
        return {"val_images": 500, "runs": runs}

    def photos(rights):
        return {"val_images": 153, "runs": {comparison.LINEAR_PROBE: [
            {"final": r / 153} for r in rights]}}  # fmt: skip

    namespace["study"] = {
        "seeds": [0, 1, 2],
        "cells": {
            "large different": cell(large),
            "small different": cell(small),
            "small similar": photos([140, 136, 142]),
        },
    }
    namespace["CACHE"] = cache_dir


def _defined_in_06(namespace: dict, cache_dir) -> None:
    import torch
    from PIL import Image
    from torch import nn

    class Says(nn.Module):  # a trained model that answers "bees" for every photo
        def forward(self, images):
            return torch.tensor([[0.0, 2.0]]).expand(len(images), 2)

    def transform(image):
        return torch.zeros(3, 8, 8)

    val = SimpleNamespace(targets=[0, 0, 1, 1, 1], class_to_idx={"bees": 1}, transform=transform)
    namespace.update(
        survey=SimpleNamespace(counts={"ants": 193, "bees": 204}, skipped=[]),
        classes=["ants", "bees"],
        datasets={"val": val},
        model=Says(),  # the model trained in the notebook
        reloaded=Says(),
        reloaded_classes=["ants", "bees"],
        transform=transform,
        photo=Image.new("RGB", (8, 8)),
    )


# What a notebook's exercises use that it defined itself (stand-ins for its trained models and
# data); a notebook whose exercises need only helpers has no entry.
DEFINED_IN = {
    "02": _defined_in_02,
    "03": _defined_in_03,
    "04": _defined_in_04,
    "05": _defined_in_05,
    "06": _defined_in_06,
}


def _recording(namespace: dict, notebook: str) -> list[bool]:
    """Replace the notebook's check module by one that records what every check returns."""
    results: list[bool] = []
    module = namespace[f"nb{notebook}"]

    def wrap(function):
        def recorded(*args, **kwargs):
            results.append(function(*args, **kwargs))
            return results[-1]

        return recorded

    namespace[f"nb{notebook}"] = SimpleNamespace(
        **{name: wrap(getattr(module, name)) for name in dir(module) if name.startswith("check_")},
        **{name: getattr(module, name) for name in dir(module) if not name.startswith("check_")},
    )
    return results


def _split(exercise_source: str) -> tuple[str, str]:
    """(set-up statements, check statements) of an exercise cell; a check call may span lines."""
    setup, checks = [], []
    for statement in ast.parse(exercise_source).body:
        text = ast.get_source_segment(exercise_source, statement)
        (checks if CHECK.search(text) else setup).append(text)
    return "\n".join(setup), "\n".join(checks)


def test_every_exercise_has_an_answer_key_or_a_reason():
    assert len(EXERCISES) >= 20
    for key, exercise in EXERCISES.items():
        if key in NO_KEY:
            continue
        assert exercise.solution, f"notebook {key[0]}: {key[1]} has no solution after it"
        if not exercise.solution_is_code and not PYTHON_BLOCK.search(exercise.solution):
            assert key in PROSE_ANSWERS, f"notebook {key[0]}: {key[1]}: add its answer here"


# Answer keys that train or compute features for real (seconds to tens of seconds).
RUNS_STRATEGIES = {("05", "check_backbone_swap"), ("05", "check_new_data_set")}
KEYS = [
    pytest.param(key, marks=pytest.mark.slow) if key in RUNS_STRATEGIES else key
    for key in sorted(set(EXERCISES) - set(NO_KEY))
]


@pytest.mark.parametrize("key", KEYS, ids="-".join)
def test_the_answer_key_passes_its_check(key, capsys, monkeypatch, tmp_path):
    notebook, check = key
    exercise = EXERCISES[key]
    if "resnet18" in exercise.solution:  # a stand-in checkpoint: nothing is downloaded
        _resnet18_checkpoint(monkeypatch, tmp_path)
    namespace = _namespace(notebook, cache_dir=tmp_path / "features")
    results = _recording(namespace, notebook)
    setup, check_lines = _split(exercise.exercise)
    if exercise.solution_is_code:
        code = setup + "\n" + exercise.solution
    elif key in PROSE_ANSWERS:
        answer, words = PROSE_ANSWERS[key]
        assert words in exercise.solution, f"the solution box no longer says {words!r}"
        code = "\n".join([setup, answer, check_lines])
    else:
        solution = "\n".join(PYTHON_BLOCK.findall(exercise.solution))
        code = "\n".join([setup, solution, check_lines])
    exec(compile(code, f"<notebook {notebook}: {check}>", "exec"), namespace)
    assert results and all(result is True for result in results), capsys.readouterr().out


def _resnet18_checkpoint(monkeypatch, tmp_path) -> None:
    """torchvision reads $TORCH_HOME/hub/checkpoints before it downloads: random weights there."""
    import torch
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    checkpoint = tmp_path / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    checkpoint.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), checkpoint)


def test_a_wrong_answer_key_would_fail(capsys):
    """The harness itself can fail: the primate count's classic off-by-one is refused."""
    namespace = _namespace("01")
    results = _recording(namespace, "01")
    exec("answer = 384 - 365\nnb01.check_primate_count(answer)", namespace)
    assert results == [False]


EXERCISE_HEADING = re.compile(r"^(?:#+\s*|\*\*)Exercise\s+(\d+)", re.MULTILINE)


@pytest.mark.parametrize("path", course.paths(), ids=lambda p: p.stem)
def test_every_exercise_is_followed_by_a_hidden_solution(path):
    """A collapsed Solution box (markdown, so no executed output gives it away) within the
    exercise's next five cells."""
    cells = json.loads(path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for number in EXERCISE_HEADING.findall("".join(cell["source"])):
            following = cells[index + 1 : index + 6]
            boxes = [c for c in following if c["cell_type"] == "markdown" and _is_box(c)]
            assert boxes, f"{path.name}: Exercise {number} has no Solution box after it"


def _is_box(cell: dict) -> bool:
    return "<summary>Solution</summary>" in "".join(cell["source"])

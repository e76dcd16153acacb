"""Notebook 01's exercise checks: a right answer passes, wrong ones get specific feedback."""

from __future__ import annotations

import torch

from helpers import imagenet, models
from helpers.exercises import nb01
from helpers.models import ANT_CLASS, BEE_CLASS


def test_class_index(capsys):
    assert nb01.check_class_index(207) is True
    assert "golden retriever" in capsys.readouterr().out
    assert nb01.check_class_index(None) is False
    assert "retriever" in capsys.readouterr().out
    assert nb01.check_class_index("207") is False
    assert "int" in capsys.readouterr().out
    assert nb01.check_class_index(208) is False
    out = capsys.readouterr().out
    assert "Labrador retriever" in out and "off-by-one" in out
    assert nb01.check_class_index(1207) is False
    assert "0 to 999" in capsys.readouterr().out


def test_primate_count(capsys):
    assert nb01.check_primate_count(20) is True
    assert "orangutan to indri" in capsys.readouterr().out
    assert nb01.check_primate_count(19) is False
    assert "both 365 and 384" in capsys.readouterr().out
    assert nb01.check_primate_count(0.02) is False
    assert "not a fraction" in capsys.readouterr().out
    assert nb01.check_primate_count(None) is False


def test_the_primate_range_is_the_primates():
    names = models.imagenet_categories()
    first, last = nb01.PRIMATE_RANGE
    assert (names[first], names[last]) == ("orangutan", "indri")
    assert names[first - 1] == "three-toed sloth" and names[last + 1] == "Indian elephant"


def test_ant_bee_classifier_right_and_wrong(capsys):
    def right(logits):
        return (logits[:, BEE_CLASS] > logits[:, ANT_CLASS]).long()

    def all_ants(logits):
        return torch.zeros(len(logits), dtype=torch.long)

    assert nb01.check_ant_bee_classifier(right) is True
    assert nb01.check_ant_bee_classifier(imagenet.ant_bee_from_logits) is True
    capsys.readouterr()
    assert nb01.check_ant_bee_classifier(lambda logits: 1 - right(logits)) is False
    assert "flipped" in capsys.readouterr().out
    assert nb01.check_ant_bee_classifier(lambda logits: logits.argmax(dim=1)) is False
    assert "not ImageNet class indices" in capsys.readouterr().out
    assert nb01.check_ant_bee_classifier(lambda logits: None) is False
    assert "returns None" in capsys.readouterr().out
    assert nb01.check_ant_bee_classifier(lambda logits: right(logits)[:2]) is False
    assert "shape (6,)" in capsys.readouterr().out
    assert nb01.check_ant_bee_classifier(all_ants) is False
    assert "some predictions are wrong" in capsys.readouterr().out
    assert nb01.check_ant_bee_classifier(lambda logits: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_ant_bee_classifier_refuses_a_threshold_on_one_logit():
    """Only comparing the two logits decides: a threshold on the bee logit alone fails."""
    for threshold in (-1.5, 0.0, 1.25, 2.0):

        def bee_above(logits, threshold=threshold):
            return (logits[:, BEE_CLASS] > threshold).long()

        def ant_below(logits, threshold=threshold):
            return (logits[:, ANT_CLASS] < threshold).long()

        assert not nb01.check_ant_bee_classifier(bee_above)
        assert not nb01.check_ant_bee_classifier(ant_below)


def test_the_normalisation_table_is_folded_until_a_prediction(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    report = {"own": {"ant/bee accuracy": 0.97, "same top-1 class": 1.0}}
    nb01.show_normalisation_table(None, report)
    assert capsys.readouterr().out == "" and len(shown) == 1
    assert shown[0].data.startswith("<details><summary>Predict first")
    assert shown[0].data.rstrip().endswith("</details>")
    assert "97.0%" in shown[0].data.split("</summary>")[1]  # inside the collapsed box only
    nb01.show_normalisation_table("about the same", report)
    assert "97.0%" in capsys.readouterr().out and len(shown) == 1


def test_normalisation_outcome_thresholds():
    assert nb01.normalisation_outcome(0.97, 0.965) == "about the same"
    assert nb01.normalisation_outcome(0.97, 0.93) == "a few points lower"
    assert nb01.normalisation_outcome(0.97, 0.49) == "near chance (50%)"


def test_normalisation_prediction_uses_the_measured_report(capsys):
    report = {
        "right": {"ant/bee accuracy": 0.97, "same top-1 class": 1.0},
        "[0, 1]": {"ant/bee accuracy": 0.965, "same top-1 class": 0.6},
        "[0, 255]": {"ant/bee accuracy": 0.48, "same top-1 class": 0.0},
    }
    assert nb01.check_normalisation_prediction("about the same", report, "right", "[0, 1]")
    assert "60%" in capsys.readouterr().out  # points at the top-1 column
    assert not nb01.check_normalisation_prediction("near chance (50%)", report, "right", "[0, 1]")
    out = capsys.readouterr().out
    assert "does not match 'near chance (50%)'" in out and "'about the same'" not in out
    assert nb01.check_normalisation_prediction("near chance (50%)", report, "right", "[0, 255]")
    assert not nb01.check_normalisation_prediction(None, report, "right", "[0, 1]")
    assert "choose one of" in capsys.readouterr().out

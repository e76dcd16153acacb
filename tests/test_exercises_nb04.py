"""Notebook 04's exercise checks accept right answers and explain wrong ones."""

from __future__ import annotations

import torch
from torch import nn

from helpers import freezing, results
from helpers.exercises import nb04
from helpers.training import EpochRecord, History


def test_steps_per_epoch(capsys):
    assert nb04.check_steps_per_epoch(16, num_images=244, batch_size=16)
    assert "Correct" in capsys.readouterr().out
    assert not nb04.check_steps_per_epoch(15, num_images=244, batch_size=16)
    assert "drop_last" in capsys.readouterr().out
    assert not nb04.check_steps_per_epoch(True, num_images=16, batch_size=16)
    assert not nb04.check_steps_per_epoch(None, num_images=244, batch_size=16)
    assert not nb04.check_steps_per_epoch(20, num_images=244, batch_size=16)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Linear(4, 4)
        self.frozen = nn.Linear(4, 4).requires_grad_(False)
        self.fc = nn.Linear(4, 2)


def test_lr_groups(capsys):
    from helpers import models

    model = models.replace_head(models.load_backbone(pretrained=False), 2)
    freezing.set_trainable(model, dict.fromkeys(("stem", "blocks.0", "blocks.1"), False))
    groups = freezing.layer_groups(model)
    head, below = groups["classifier"], groups["conv_head"]  # conv_head and bn2
    near = {id(p) for p in [*head.parameters(), *below.parameters()]}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in near]
    right = torch.optim.AdamW(
        [
            {"params": list(head.parameters()), "lr": 1e-3},
            {"params": list(below.parameters()), "lr": 1e-4},
            {"params": rest, "lr": 1e-5},
        ]
    )
    assert nb04.check_lr_groups(right, model)
    assert "Correct" in capsys.readouterr().out
    two_rates = torch.optim.AdamW(
        [
            {"params": list(head.parameters()), "lr": 1e-3},
            {"params": [*below.parameters(), *rest], "lr": 1e-4},
        ]
    )
    assert not nb04.check_lr_groups(two_rates, model)
    assert "the rest of the trainable parameters learns at 0.0001" in capsys.readouterr().out
    with_frozen = torch.optim.AdamW(
        [
            {"params": list(head.parameters()), "lr": 1e-3},
            {"params": list(below.parameters()), "lr": 1e-4},
            {"params": [p for p in model.parameters() if id(p) not in near], "lr": 1e-5},
        ]
    )
    assert not nb04.check_lr_groups(with_frozen, model)
    assert "frozen tensor(s) included" in capsys.readouterr().out
    assert not nb04.check_lr_groups(None, model)


def test_photos_apart(capsys):
    assert nb04.check_photos_apart(2, 0.948, 0.935, num_val_images=153)
    assert "2 photo(s)" in capsys.readouterr().out
    assert nb04.check_photos_apart(1.99, 0.935, 0.948, num_val_images=153)  # order does not matter
    assert not nb04.check_photos_apart(0.013, 0.948, 0.935, num_val_images=153)
    assert "gap in accuracy" in capsys.readouterr().out
    assert not nb04.check_photos_apart(1, 0.948, 0.935, num_val_images=153)
    assert not nb04.check_photos_apart(13, 0.948, 0.935, num_val_images=153)
    assert not nb04.check_photos_apart(1.6, 0.948, 0.935, num_val_images=153)  # not 2 photos
    assert not nb04.check_photos_apart(True, 0.948, 0.935, num_val_images=153)
    assert not nb04.check_photos_apart("2", 0.948, 0.935, num_val_images=153)
    assert nb04.check_photos_apart(5, 0.99, 0.94, num_val_images=100)  # not tied to 153


def test_photos_apart_states_the_courses_one_comparison_rule(capsys):
    """The right answer's feedback describes results.compare, not an older rule."""
    assert nb04.check_photos_apart(2, 0.948, 0.935, num_val_images=153)
    said = " ".join(capsys.readouterr().out.split())
    for words in (
        "results.compare",
        "seed k of one strategy with seed k of the other",
        "gap in val photos",
        "more than one photo",
        "95% interval lies on one side of zero",
        "tie",
        f"fewer than {results.MIN_SEEDS} seeds",
        '"cannot say"',
    ):
        assert words in said, words
    assert "spread" not in said  # the old rule compared means over seeds with their spread


def test_fixed_extractor(capsys):
    model = TinyNet()
    assert not nb04.check_fixed_extractor(None, model)  # the backbone still learns
    assert "requires_grad=True" in capsys.readouterr().out
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(4, 2)
    assert not nb04.check_fixed_extractor(None, model)
    assert "build the optimizer" in capsys.readouterr().out
    everything = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    assert not nb04.check_fixed_extractor(everything, model)
    assert "exactly the head" in capsys.readouterr().out
    assert not nb04.check_fixed_extractor(torch.optim.AdamW(model.fc.parameters()), model)
    assert "SGD" in capsys.readouterr().out
    no_momentum = torch.optim.SGD(model.fc.parameters(), lr=0.001)
    assert not nb04.check_fixed_extractor(no_momentum, model)
    assert "momentum=0.9" in capsys.readouterr().out
    head_only = torch.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.9)
    assert nb04.check_fixed_extractor(head_only, model)
    assert "Correct" in capsys.readouterr().out


def test_fixed_extractor_refuses_a_frozen_head_or_a_wrong_class_count(capsys):
    model = TinyNet()
    for param in model.parameters():
        param.requires_grad = False  # frozen after the head was put on: nothing learns
    head_only = torch.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.9)
    assert not nb04.check_fixed_extractor(head_only, model)
    assert "head is frozen" in capsys.readouterr().out
    model.fc = nn.Linear(4, 3)
    assert not nb04.check_fixed_extractor(torch.optim.SGD(model.fc.parameters(), lr=0.1), model)
    assert "2 outputs" in capsys.readouterr().out


def history(train_accuracy: float, val_accuracy: float) -> History:
    return History(records=[EpochRecord(1, 0.1, train_accuracy, 0.2, val_accuracy, 1.0, 1e-3)])


def test_augmentation_gap_is_judged_on_the_learners_runs(capsys):
    with_aug, without_aug = history(0.90, 0.95), history(0.99, 0.94)
    assert nb04.check_augmentation_gap("without", with_aug, without_aug)
    assert not nb04.check_augmentation_gap("with", with_aug, without_aug)
    out = capsys.readouterr().out.splitlines()[-1]
    assert "without_augmentation.final" in out and "0.050" not in out  # a hint, not the gaps
    assert nb04.check_augmentation_gap("with", without_aug, with_aug)  # their data decides
    assert not nb04.check_augmentation_gap("without", None, None)
    assert "RUN_EXERCISE_4" in capsys.readouterr().out
    assert not nb04.check_augmentation_gap("maybe", with_aug, without_aug)


def test_photos_apart_is_a_distance_either_way_round(capsys):
    assert nb04.check_photos_apart(-2, 0.961, 0.948, 153) is True
    assert nb04.check_photos_apart(-1.99, 0.961, 0.948, 153) is True
    assert nb04.check_photos_apart(-3, 0.961, 0.948, 153) is False

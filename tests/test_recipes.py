"""helpers.recipes: the course and tutorial fine-tunes are wired as documented, and learn."""

from __future__ import annotations

import pytest
import torch

from helpers import data, freezing, models, recipes, training


@pytest.fixture
def tiny_loaders(tiny_dataset):
    datasets = data.image_datasets(tiny_dataset, size=64)
    return data.dataloaders(datasets, batch_size=4)


@pytest.fixture
def captured_fit(monkeypatch):
    """Replace training.fit with a stub that records what the recipe passed to it."""
    calls = {}

    def fake_fit(model, loaders, **kwargs):
        calls.update(kwargs, model=model)
        return training.History()

    monkeypatch.setattr(recipes.training, "fit", fake_fit)
    return calls


def test_course_recipe_has_a_faster_head_and_one_cycle(tiny_loaders, captured_fit):
    model, _ = recipes.course_finetune(tiny_loaders, pretrained=False, epochs=3, progress=False)
    optimizer, scheduler = captured_fit["optimizer"], captured_fit["scheduler"]
    assert captured_fit["epochs"] == 3
    assert isinstance(optimizer, torch.optim.AdamW)
    assert isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)
    assert scheduler.total_steps == 3 * len(tiny_loaders["train"])
    head_group, backbone_group = optimizer.param_groups
    assert head_group["max_lr"] == recipes.COURSE_HEAD_LR
    assert backbone_group["max_lr"] == recipes.COURSE_BACKBONE_LR < recipes.COURSE_HEAD_LR
    assert {id(p) for p in head_group["params"]} == {id(p) for p in model.classifier.parameters()}
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    groups = freezing.layer_groups(model)
    for name in models.backbone_spec("efficientnet_lite0").early_groups:
        assert all(
            not p.requires_grad and id(p) not in in_optimizer for p in groups[name].parameters()
        )
    assert all(p.requires_grad for p in groups["blocks.6"].parameters())
    assert model.classifier.out_features == 2


def test_the_recipe_trains_with_the_optimizer_notebook_04_plots(
    tiny_loaders, captured_fit, monkeypatch
):
    """course_finetune builds its optimizer and schedule with course_optimizer, the function
    notebook 04 calls to plot the schedule: one definition, not a copy."""
    built = []

    def recording(*args, **kwargs):
        built.append(recipes_course_optimizer(*args, **kwargs))
        return built[-1]

    recipes_course_optimizer = recipes.course_optimizer
    monkeypatch.setattr(recipes, "course_optimizer", recording)
    recipes.course_finetune(tiny_loaders, pretrained=False, epochs=2, progress=False)
    assert len(built) == 1
    assert (captured_fit["optimizer"], captured_fit["scheduler"]) == built[0]
    model = recipes.build_model(pretrained=False, frozen_groups=())
    optimizer, scheduler = recipes_course_optimizer(model, steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    peak = rates.index(max(rates))
    assert 0 < peak < 9 and max(rates) == pytest.approx(recipes.COURSE_HEAD_LR, rel=0.05)
    assert rates[-1] < rates[0] < max(rates)  # warm-up, then a decay below where it started


def test_course_recipe_can_train_everything(tiny_loaders, captured_fit):
    model, _ = recipes.course_finetune(
        tiny_loaders, pretrained=False, epochs=1, frozen_groups=(), progress=False
    )
    trainable, total = freezing.count_parameters(model)
    assert trainable == total


@pytest.mark.slow  # trains for tens of seconds
def test_course_recipe_learns_and_is_reproducible(tiny_loaders):
    stem_before = models.load_backbone().conv_stem.weight.clone()
    runs = [
        recipes.course_finetune(tiny_loaders, epochs=2, seed=seed, device="cpu", progress=False)
        for seed in (0, 0, 1)
    ]
    (model, history), (model_again, history_again), (_, other_seed) = runs
    assert len(history.records) == 2
    val_losses = history.column("val_loss")  # reddish ants, bluish bees
    assert val_losses[-1] < val_losses[0] and history.best.val_accuracy >= 0.875
    assert torch.equal(model.conv_stem.weight, stem_before)  # frozen early layers stay put
    assert history.column("train_loss") == history_again.column("train_loss")
    assert torch.equal(model.classifier.weight, model_again.classifier.weight)
    assert other_seed.column("train_loss") != history.column("train_loss")


def test_unknown_frozen_group_is_reported():
    with pytest.raises(KeyError, match="blocks.0"):
        recipes.build_model(pretrained=False, frozen_groups=("layer9",))


def test_tutorial_recipe_matches_the_tutorial(tiny_loaders, captured_fit):
    model, _ = recipes.tutorial_finetune(tiny_loaders, pretrained=False, progress=False)
    optimizer, scheduler = captured_fit["optimizer"], captured_fit["scheduler"]
    assert captured_fit["epochs"] == 25
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["lr"] == 0.001
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert (scheduler.step_size, scheduler.gamma) == (7, 0.1)
    assert model.fc.out_features == 2
    trainable, total = freezing.count_parameters(model)
    assert trainable == total


def test_tutorial_fixed_extractor_trains_only_the_head(tiny_loaders):
    model, history = recipes.tutorial_finetune(
        tiny_loaders,
        pretrained=False,
        epochs=1,
        device="cpu",
        progress=False,
        fixed_feature_extractor=True,
    )
    trainable, _ = freezing.count_parameters(model)
    assert trainable == model.fc.weight.numel() + model.fc.bias.numel()
    assert len(history.records) == 1


@pytest.mark.slow  # trains for tens of seconds
def test_course_recipe_probes_the_head_first(tiny_loaders, monkeypatch):
    """Pretrained: the first epochs train only the head, then the fine-tune takes over."""
    calls = []
    real_fit = training.fit

    def recording_fit(model, loaders, **kwargs):
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        calls.append((trainable, kwargs["epochs"]))
        return real_fit(model, loaders, **kwargs)

    monkeypatch.setattr(recipes.training, "fit", recording_fit)
    model, history = recipes.course_finetune(
        tiny_loaders, epochs=1, probe_epochs=2, warm_start=False, progress=False
    )
    (probe_trainable, probe_epochs), (tune_trainable, tune_epochs) = calls
    assert probe_trainable == {"classifier.weight", "classifier.bias"}
    assert (probe_epochs, tune_epochs) == (2, 1)
    assert probe_trainable < tune_trainable
    assert history.column("epoch") == [1, 2, 3]
    assert history.column("phase") == ["probe", "probe", "fine-tune"]
    assert history.probe_end == 2
    best = max(history.records, key=lambda r: (r.val_accuracy, -r.val_loss))
    assert history.best_epoch == best.epoch
    assert training.evaluate(model, tiny_loaders["val"], device="cpu")["accuracy"] == pytest.approx(
        best.val_accuracy
    )


@pytest.mark.slow  # trains for tens of seconds
def test_course_recipe_keeps_the_probe_when_fine_tuning_only_hurts(tiny_loaders):
    """A destructive fine-tuning learning rate: the probe's weights must come back."""
    model, history = recipes.course_finetune(
        tiny_loaders, epochs=1, probe_epochs=2, head_lr=50.0, backbone_lr=50.0, progress=False
    )
    assert history.best_epoch <= 2, history.column("val_accuracy")
    accuracy = training.evaluate(model, tiny_loaders["val"], device="cpu")["accuracy"]
    assert accuracy == pytest.approx(history.best.val_accuracy)


def test_from_scratch_skips_the_probe(tiny_loaders, captured_fit):
    recipes.course_finetune(tiny_loaders, pretrained=False, epochs=2, progress=False)
    assert captured_fit["epochs"] == 2
    assert captured_fit["phase"] == "scratch"


def test_imagenet_classes_warm_start_the_head_and_skip_the_probe(tiny_loaders, captured_fit):
    """ants/bees are ImageNet classes: the new head starts as ImageNet's ant and bee rows."""
    imagenet_head = models.load_backbone().classifier
    model, _ = recipes.course_finetune(tiny_loaders, epochs=2, progress=False)
    assert captured_fit["epochs"] == 2 and captured_fit["phase"] == "fine-tune"  # no probe fit
    assert captured_fit["batchnorm"] == recipes.COURSE_BATCHNORM == "inference"
    rows = [models.ANT_CLASS, models.BEE_CLASS]
    assert torch.equal(model.classifier.weight, imagenet_head.weight[rows])
    assert torch.equal(model.classifier.bias, imagenet_head.bias[rows])


def test_classes_unknown_to_imagenet_get_a_random_head_and_a_probe(tiny_dataset, monkeypatch):
    for split in ("train", "val"):
        for old, new in (("ants", "widgets"), ("bees", "gadgets")):
            (tiny_dataset / split / old).rename(tiny_dataset / split / new)
    loaders = data.dataloaders(data.image_datasets(tiny_dataset, size=64), batch_size=4)
    phases = []

    def fake_fit(model, loaders, **kwargs):
        phases.append(kwargs["phase"])
        return training.History()

    monkeypatch.setattr(recipes.training, "fit", fake_fit)
    recipes.course_finetune(loaders, epochs=1, progress=False)
    assert phases == ["probe", "fine-tune"]


def test_a_stop_during_the_fine_tune_propagates_with_both_phases(tiny_loaders):
    def stop_in_fine_tune(history):
        if history.records[-1].phase == "fine-tune":
            raise KeyboardInterrupt

    with pytest.raises(training.TrainingInterrupted) as stop:
        recipes.course_finetune(
            tiny_loaders, epochs=3, probe_epochs=1, warm_start=False, progress=False,
            callbacks=[stop_in_fine_tune],
        )  # fmt: skip
    assert stop.value.history.column("phase") == ["probe", "fine-tune"]
    assert training.last_interrupted() is stop.value.history

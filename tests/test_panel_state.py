"""FreezePanelState: the panel's state and seeded training, without any widget."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import freezing
from helpers.panel_state import (
    BUSY_MESSAGE,
    FreezePanelState,
    NotStarted,
    PanelBusy,
    PanelStopped,
)


class Tiny(nn.Module):
    """Three layer groups (stem with a BatchNorm, body, head)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))))


def loaders() -> dict[str, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(48, 3, generator=generator) + 0.5
    dataset = TensorDataset(x, (x[:, 0] > 0.5).long())
    shuffled = DataLoader(dataset, batch_size=8, shuffle=True, generator=torch.Generator())
    return {"train": shuffled, "val": DataLoader(dataset, batch_size=16)}


def state(**options) -> FreezePanelState:
    torch.manual_seed(0)
    return FreezePanelState(Tiny(), loaders(), progress=False, **options)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_the_freezing_is_the_models_requires_grad():
    s = state()
    s.head_only()
    assert s.trainable_groups() == {"stem": False, "body": False, "head": True}
    s.set_group("body", True)
    assert freezing.describe_trainable(s.model) == "body–head"
    s.set_all(False)
    assert freezing.count_parameters(s.model)[0] == 0
    freezing.unfreeze(s.model.stem[0])  # a change made in code shows as a part-trainable group
    assert s.trainable_groups()["stem"] is None


def test_the_same_setting_and_seed_give_the_same_run_and_another_seed_another():
    s = state()
    s.head_only()
    first = s.train_one_epoch(seed=0)
    again = s.train_one_epoch(seed=0)
    other = s.train_one_epoch(seed=1)
    assert [r.run for r in s.results] == [1, 2, 3]
    assert first.val_accuracy == again.val_accuracy and first.setting == "head"
    assert (first.trainable, first.seed, other.seed) == (10, 0, 1)
    trained = [weights(s.model)]
    s.train_one_epoch(seed=1)
    assert same(trained[0], weights(s.model))  # from the starting weights each time


def test_a_run_starts_from_the_starting_weights_unless_continued():
    s = state()
    start = weights(s.model)
    s.train_one_epoch(seed=0)
    after_one = weights(s.model)
    assert not same(start, after_one)
    result = s.train_one_epoch(seed=0, continued=True)
    assert result.continued and not same(after_one, weights(s.model))
    s.reset()
    assert same(start, weights(s.model))


def test_batchnorm_train_mode_moves_frozen_statistics_and_follow_freezing_does_not():
    s = state()
    s.head_only()
    before = s.model.stem[1].running_mean.clone()
    s.train_one_epoch(seed=0)
    assert torch.equal(s.model.stem[1].running_mean, before)
    s.train_one_epoch(seed=0, batchnorm="train")
    assert not torch.equal(s.model.stem[1].running_mean, before)
    assert s.results[-1].batchnorm == "train"
    with pytest.raises(ValueError, match="batchnorm"):
        s.begin(batchnorm="eval")


def test_a_run_that_cannot_start_says_why():
    with pytest.raises(NotStarted, match="No data"):
        FreezePanelState(Tiny()).begin()
    s = state()
    s.set_all(False)
    with pytest.raises(NotStarted, match="Nothing is trainable"):
        s.begin()
    s.head_only()
    run = s.begin()
    with pytest.raises(NotStarted, match="already training"):
        s.begin()
    for change in (s.head_only, s.reset, lambda: s.set_all(True), lambda: s.set_group("body", 1)):
        with pytest.raises(PanelBusy, match=BUSY_MESSAGE):
            change()
    s.execute(run)
    assert not s.training and len(s.results) == 1


def stop_at_step(s: FreezePanelState, step: int):
    """A make_optimizer that asks the state to stop on its step-th step (as "Stop" does)."""

    def make(parameters):
        optimizer = torch.optim.SGD(parameters, lr=0.5)
        original, calls = optimizer.step, []

        def step_then_maybe_stop(*args, **kwargs):
            calls.append(1)
            result = original(*args, **kwargs)
            if len(calls) == step:
                assert s.request_stop()
            return result

        optimizer.step = step_then_maybe_stop
        return optimizer

    return make


def test_a_stop_puts_the_weights_back_and_records_nothing():
    s = state()
    s.train_one_epoch(seed=0)
    s.make_optimizer = stop_at_step(s, 2)  # two steps change the weights, then the stop
    before = weights(s.model)
    with pytest.raises(PanelStopped, match="nothing was recorded"):
        s.train_one_epoch(seed=0, continued=True)
    assert same(before, weights(s.model)) and len(s.results) == 1 and not s.training
    assert not s.request_stop()  # nothing trains now: nothing to stop
    run = s.begin(seed=0)
    result, stopped = s.execute(run)
    assert result is None and isinstance(stopped, KeyboardInterrupt)


def test_an_error_puts_the_weights_back_and_is_raised():
    s = state()
    s.train_one_epoch(seed=0)
    before = weights(s.model)

    def broken(parameters):
        optimizer = torch.optim.SGD(parameters, lr=0.5)
        step = optimizer.step
        calls = []

        def step_then_fail(*args, **kwargs):
            calls.append(1)
            step(*args, **kwargs)
            if len(calls) == 2:
                raise RuntimeError("disk full")

        optimizer.step = step_then_fail
        return optimizer

    s.make_optimizer = broken
    with pytest.raises(RuntimeError, match="disk full"):
        s.train_one_epoch(seed=0, continued=True)
    assert same(before, weights(s.model)) and not s.training and len(s.results) == 1


def test_the_first_run_warms_up_once_and_reports_it():
    s = state()
    heard = []
    s.execute(s.begin(seed=0), report=heard.append)
    seconds = s.warm_up_seconds
    assert seconds is not None and seconds > 0 and "Warming up" in heard[0]
    heard.clear()
    s.execute(s.begin(seed=0), report=heard.append)
    assert s.warm_up_seconds == seconds and heard == []


def test_close_lets_go_of_the_model_and_the_data():
    s = state()
    s.train_one_epoch(seed=0)
    model = weakref.ref(s.model)
    s.close()
    gc.collect()
    assert model() is None, "something still holds the closed state's model"
    assert s.loaders is None and s.start_state is None and s.val_images() is None

"""helpers.training: fit learns, keeps the best epoch, survives an interrupt."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import training


def memorisable_loaders(n: int = 16, seed: int = 0) -> dict[str, DataLoader]:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 10, generator=generator)
    labels = torch.randint(0, 3, (n,), generator=generator)
    dataset = TensorDataset(features, labels)
    return {
        "train": DataLoader(dataset, batch_size=8, shuffle=True, generator=generator),
        "val": DataLoader(dataset, batch_size=8),
    }


def small_model() -> nn.Module:
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))


def test_fit_memorises_a_tiny_set():
    training.seed_everything(0)
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    history = training.fit(
        model, memorisable_loaders(), epochs=40, optimizer=optimizer, device="cpu", progress=False
    )
    losses = history.column("train_loss")
    assert losses[-1] < losses[0] / 10
    assert history.best.val_accuracy == 1.0
    assert training.evaluate(model, memorisable_loaders()["val"], device="cpu")["accuracy"] == 1.0


def test_fit_progress_bar_names_the_device_and_threads(capsys):
    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    training.fit(model, memorisable_loaders(), epochs=1, optimizer=optimizer, device="cpu")
    shown = capsys.readouterr().err
    assert f"epoch 1/1 val (cpu, {torch.get_num_threads()} threads)" in shown


def test_fit_restores_the_best_epoch():
    training.seed_everything(1)
    model = small_model()
    loaders = memorisable_loaders()
    snapshots = {}

    def remember(history):
        snapshots[history.records[-1].epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    # a learning rate this high makes later epochs worse, so the best one is not the last
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    history = training.fit(
        model,
        loaders,
        epochs=6,
        optimizer=optimizer,
        device="cpu",
        progress=False,
        callbacks=[remember],
    )
    best = history.best_epoch
    assert best < len(history.records), "the test needs a best epoch before the last"
    assert history.best.val_accuracy == max(history.column("val_accuracy"))
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshots[best][key])


def test_per_batch_scheduler_is_stepped_every_batch():
    model = small_model()
    loaders = memorisable_loaders()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, total_steps=3 * len(loaders["train"])
    )
    history = training.fit(
        model,
        loaders,
        epochs=3,
        optimizer=optimizer,
        scheduler=scheduler,
        device="cpu",
        progress=False,
    )
    assert scheduler.last_epoch == 3 * len(loaders["train"])
    assert history.column("lr")[-1] < history.column("lr")[0] / 5  # annealed by the end


def test_a_stop_keeps_the_best_weights_and_then_stops_the_cell():
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    states = {}

    def stop_after_two(history):
        states[len(history.records)] = copy.deepcopy(model.state_dict())
        if len(history.records) == 2:
            raise KeyboardInterrupt

    with pytest.raises(training.TrainingInterrupted, match="after 2 complete epoch") as stop:
        training.fit(
            model,
            memorisable_loaders(),
            epochs=10,
            optimizer=optimizer,
            device="cpu",
            progress=False,
            callbacks=[stop_after_two],
        )
    assert isinstance(stop.value, KeyboardInterrupt)  # so Jupyter stops the cell and Run All
    history = stop.value.history
    assert history.interrupted and len(history.records) == 2
    assert training.last_interrupted() is history
    best = max(history.records, key=training.epoch_score)
    assert history.best_epoch == best.epoch
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, states[best.epoch][name]), name
    assert not model.training


def test_a_stop_in_the_first_epoch_restores_the_starting_weights():
    model = small_model()
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    steps = 0
    original_step = optimizer.step

    def step_then_stop(*args, **kwargs):
        nonlocal steps
        original_step(*args, **kwargs)
        steps += 1
        if steps == 2:  # mid-epoch, after the weights have moved
            raise KeyboardInterrupt

    optimizer.step = step_then_stop
    loaders = memorisable_loaders()
    with pytest.raises(training.TrainingInterrupted, match="weights it started with"):
        training.fit(model, loaders, epochs=3, optimizer=optimizer, device="cpu", progress=False)
    assert steps == 2
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_every_epoch_records_its_phase():
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = training.fit(
        model, memorisable_loaders(), epochs=2, optimizer=optimizer, device="cpu",
        progress=False, phase="probe",
    )  # fmt: skip
    assert history.column("phase") == ["probe", "probe"]
    assert history.final is history.records[-1]
    assert history.probe_end == 2
    with pytest.raises(ValueError, match="fine-tune"):
        training.fit(model, memorisable_loaders(), epochs=1, optimizer=optimizer, phase="tune")


def test_epoch_score_ranks_accuracy_then_loss():
    def record(accuracy, loss):
        return training.EpochRecord(1, 1.0, 0.5, loss, accuracy, 1.0, 0.1)

    assert training.epoch_score(record(0.9, 0.5)) > training.epoch_score(record(0.8, 0.1))
    assert training.epoch_score(record(0.9, 0.2)) > training.epoch_score(record(0.9, 0.3))
    no_val = training.EpochRecord(1, 0.3, 0.7, None, None, 1.0, 0.1)
    assert training.epoch_score(no_val) == (0.7, -0.3)


def test_imagenet_head_accuracy_reads_the_chosen_logits():
    images = torch.tensor([[1.0], [0.0], [0.0], [1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    loader = DataLoader(TensorDataset(images, labels), batch_size=2)

    class ImageNetLike(nn.Module):
        def forward(self, x):
            logits = torch.zeros(len(x), 5)
            logits[:, 3] = x[:, 0]  # class 3 fires on label-0 inputs
            logits[:, 1] = 1 - x[:, 0]
            return logits

    assert training.imagenet_head_accuracy(ImageNetLike(), loader, [3, 1], "cpu") == 1.0
    assert training.imagenet_head_accuracy(ImageNetLike(), loader, [1, 3], "cpu") == 0.0


def test_history_round_trips_through_json(tmp_path):
    history = training.History(
        records=[training.EpochRecord(1, 0.5, 0.8, 0.4, 0.9, 1.5, 0.001)], best_epoch=1
    )
    history.save(tmp_path / "h.json")
    assert training.History.load(tmp_path / "h.json") == history
    assert history.total_seconds == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert training.pick_device() == torch.device(expected)
    assert training.pick_device("cpu") == torch.device("cpu")  # what is given wins
    assert training.pick_device(torch.device("meta")) == torch.device("meta")


def test_weights_round_trip_safely(tmp_path):
    model = small_model()
    path = training.save_weights(model, tmp_path / "sub" / "weights.pt")
    assert not list(path.parent.glob("*.partial"))
    state = torch.load(path, weights_only=True)  # plain tensors: loads without pickled code
    assert set(state) == set(model.state_dict())
    other = small_model()
    assert not torch.equal(other[0].weight, model[0].weight)
    training.load_weights(other, path)
    assert torch.equal(other[0].weight, model[0].weight)
    assert not other.training
    with pytest.raises(RuntimeError, match="size mismatch"):
        training.load_weights(nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), path)


def test_predict_image_ranks_classes(tmp_path):
    class RedOrBlue(nn.Module):
        """Logits (red, blue): how much redder than blue the image is, and the reverse."""

        def forward(self, images):
            redness = (images[:, 0] - images[:, 2]).mean(dim=(1, 2))
            return torch.stack([redness, -redness], dim=1) * 10

    def to_tensor(image):
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)

    path = tmp_path / "red.png"
    Image.new("RGB", (8, 8), (250, 0, 0)).save(path)
    result = training.predict_image(RedOrBlue(), path, to_tensor, ["red", "blue"], device="cpu")
    assert list(result) == ["red", "blue"]
    assert sum(result.values()) == pytest.approx(1.0)
    assert result["red"] > 0.99
    blue = Image.new("RGB", (8, 8), (0, 0, 250))
    assert list(training.predict_image(RedOrBlue(), blue, to_tensor, ["red", "blue"])) == [
        "blue",
        "red",
    ]
    with pytest.raises(FileNotFoundError, match="No image file"):
        training.predict_image(RedOrBlue(), tmp_path / "missing.jpg", to_tensor, ["red", "blue"])
    with pytest.raises(ValueError, match="3 class names"):
        training.predict_image(RedOrBlue(), path, to_tensor, ["a", "b", "c"])


def test_predict_image_sees_a_phone_photo_upright(tmp_path):
    """A photo stored sideways with EXIF orientation 6 reaches the transform as it is shown."""
    seen = []

    def record(image):
        seen.append(image.size)
        return torch.zeros(3, 4, 4)

    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    Image.new("RGB", (40, 20), (90, 90, 90)).save(path, exif=exif)
    training.predict_image(nn.Flatten(), path, record, [str(i) for i in range(48)], device="cpu")
    assert seen == [(20, 40)]


def test_time_training_step_leaves_the_weights_as_they_were():
    model = small_model()
    before = copy.deepcopy(model.state_dict())
    images, labels = torch.randn(8, 10), torch.randint(0, 3, (8,))
    seconds = training.time_training_step(model, images, labels, repeats=3)
    assert 0 < seconds < 5
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert all(p.grad is None for p in model.parameters())


def test_a_one_logit_head_trains_with_bce_and_predicts_by_sigmoid_over_a_half():
    """The notes' binary head: Linear(..., 1) with BCEWithLogitsLoss (notebook 02)."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, 0] + x[:, 1] > 0).long()
    data = {"train": DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
            "val": DataLoader(TensorDataset(x, y), batch_size=64)}  # fmt: skip
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"one logit per image.*BCEWithLogitsLoss"):
        training.fit(model, data, epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
                     progress=False)  # fmt: skip  # cross-entropy over one class learns nothing
    history = training.fit(
        model, data, epochs=20, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
        criterion=nn.BCEWithLogitsLoss(), progress=False,
    )  # fmt: skip
    assert history.best.val_accuracy >= 0.95
    logits, labels = training.predict(model, data["val"])
    by_sigmoid = (torch.sigmoid(logits[:, 0]) > 0.5).long()
    assert torch.equal(training.predicted_classes(logits), by_sigmoid)
    scores = training.evaluate(model, data["val"], criterion=nn.BCEWithLogitsLoss())
    assert scores["accuracy"] == training.logits_accuracy(logits, labels) >= 0.95
    assert torch.equal(training.predicted_classes(torch.tensor([[0.2, 0.9]])), torch.tensor([1]))

"""The course's table of contents: its notebooks in teaching order, the one list of them.

Everything that walks the course reads ``NOTEBOOKS``: the README's notebook map and TEACHING.md's
timings (written by ``python -m helpers.pacing --write``), the pacing estimate, the site's
navigation (``docs/build.py``), the launch buttons (``docs/launch.py``) and the tests (glossary,
cross-references, exercise solutions, claims). Adding a notebook is one entry here plus the
notebook itself; a test fails while the folder and this list disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (helpers is installed editable)
NOTEBOOK_DIR = ROOT / "notebooks"
NOT_PUBLISHED = "after publishing"  # the README map's launch column until docs/launch.py fills it


@dataclass(frozen=True)
class Notebook:
    """One notebook. number: its place in the order ("01", "02b": a side-trip after 02); stem:
    its file name without ".ipynb"; title: its first heading after "NN · "; learn: the README
    map's "what you learn" column."""

    number: str
    stem: str
    title: str
    learn: str

    @property
    def file(self) -> str:
        return f"{self.stem}.ipynb"

    @property
    def label(self) -> str:
        """The README map's "#" column: "1", "2b"."""
        return self.number.lstrip("0") or "0"

    @property
    def heading(self) -> str:
        """The notebook's first line, as its title cell writes it."""
        return f"# {self.number} · {self.title}"

    def path(self, folder: Path | None = None) -> Path:
        return (folder or NOTEBOOK_DIR) / self.file


NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook(
        "01",
        "01_imagenet_background",
        "ImageNet: why pretrained models exist",
        "What ImageNet/ILSVRC is (from its 2006 start to the 2017 challenge), its error-rate"
        " history and 1000 classes; a pretrained model on real photos and on your own upload; why"
        " preprocessing matters; ants vs bees from ImageNet's own head (no training)",
    ),
    Notebook(
        "02",
        "02_architecture_tour",
        "A tour of CNN architectures",
        "Read any classifier as backbone + head; the idea of each landmark CNN in code (LeNet;"
        " AlexNet's ReLU, dropout and augmentation; very deep VGG; ResNet, DenseNet, EfficientNet;"
        " U-Net for medical segmentation); your notes' `vgg19` + `Linear(1000, 1)` with"
        " `BCEWithLogitsLoss` beside a 2-logit head, and that one-logit head trained once on"
        " Lite0; parameters, FLOPs and accuracy of all torchvision classifiers; what the layers"
        " learn",
    ),
    Notebook(
        "02b",
        "02b_model_hubs",
        "Model hubs: where pretrained weights come from",
        'Where pretrained weights come from: torchvision\'s weights API (`weights=`, `"DEFAULT"`,'
        " `get_model`, `meta`, `transforms()`) and what the old `pretrained=True` does; timm as a"
        " hub (`list_models`, `create_model` with a new head, `pretrained_cfg`,"
        " `create_transform`); the Hugging Face Hub (`hf-hub:` names, the cache,"
        " `HF_HUB_OFFLINE`); clear errors offline; why `transformers` is not a dependency",
    ),
    Notebook(
        "03",
        "03_freezing",
        "Freezing: what `requires_grad` really does",
        "Freeze and unfreeze any part of a model and prove it; what freezing saves (time,"
        ' memory); the BatchNorm trap; gradual unfreezing ("stepping freezing") with'
        " discriminative learning rates; a freeze-depth sweep; the FreezePanel widget",
    ),
    Notebook(
        "04",
        "04_hymenoptera_finetune",
        "Fine-tuning a pretrained network on ants and bees",
        "Look at the data and find a bad image; augmentation; the course's fine-tune (a head"
        " warm-started from ImageNet's ant and bee rows, BatchNorm in inference mode, two"
        " learning rates on one cycle), every epoch labelled with its phase, final beside best"
        " epoch; confusion matrix, mistakes; mean +- std over seeds and a saved 5-seed study;"
        " ImageNet's own head as the baseline; the course's one comparison rule (paired seeds,"
        " the gap in photos with its 95% interval): the warm start carries the result,"
        " fine-tuning ties ImageNet's own head; optional: the PyTorch tutorial's own recipe"
        " (`weights=`, `train_model`, `visualize_model`) run side by side on its own"
        " preprocessing, and which of its changes the seed study measured; save and reuse the"
        " model",
    ),
    Notebook(
        "05",
        "05_fixed_extractor_comparison",
        "Fixed feature extractor or fine-tuning? Measured, and when to use which",
        "ImageNet's own head (no training) vs a linear probe on cached features vs the"
        " tutorial's fixed extractor vs fine-tuning (from a random head and from ImageNet's"
        " head) vs from scratch, over 3 seeds with the course's one comparison rule; what"
        ' fine-tuning itself adds; "half the time" at step and epoch level; learning curves'
        " with error bars; a dissimilar target (digits, earlier layers, raw pixels); the"
        " data-size x similarity decision matrix from a saved study",
    ),
    Notebook(
        "06",
        "06_your_own_data",
        "Your own photos: from a folder to a trained, explained, exported model",
        "Your own folder of photos (one sub-folder per class, no split needed): a survey of what"
        " will be used, what is skipped and why, and what hurts results; a stratified, seeded"
        " split; the course recipe; confusion matrix, most confident mistakes and Grad-CAM;"
        " export to one file, reload, `python -m helpers.predict`, an upload button",
    ),
)


def paths(folder: Path | None = None) -> list[Path]:
    """Every notebook's path, in teaching order (folder: where they are; default the repo's)."""
    return [notebook.path(folder) for notebook in NOTEBOOKS]


def numbers() -> list[str]:
    return [notebook.number for notebook in NOTEBOOKS]


def by_number(number: str) -> Notebook:
    """The notebook numbered number ("03", "02b"); a clear error for one the course lacks."""
    for notebook in NOTEBOOKS:
        if notebook.number == number:
            return notebook
    raise KeyError(f"the course has no notebook {number!r}; it has {', '.join(numbers())}")


def strays(folder: Path | None = None) -> tuple[list[str], list[str]]:
    """What the folder and the table disagree on: (notebooks on disk the table lacks, entries
    whose file is missing). Both empty when they agree."""
    folder = folder or NOTEBOOK_DIR
    on_disk = {path.name for path in folder.glob("*.ipynb")}
    listed = {notebook.file for notebook in NOTEBOOKS}
    return sorted(on_disk - listed), sorted(listed - on_disk)


NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def count_in_words() -> str:
    """How many notebooks the course has, as prose writes it ("seven")."""
    n = len(NOTEBOOKS)
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)

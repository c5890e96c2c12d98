"""Trained models shipped with the package, and the recipes that made them.

Each model is an ``.npz`` checkpoint in this folder, made by a training run with a
fixed seed and then ``ntm-numpy export``, which keeps the parameters and the training
settings and drops the optimiser state. :data:`PRETRAINED` holds each model's
:class:`Recipe`: its file, what it is, and the run's settings as data (the flat
settings of :class:`ntm_numpy.training.config.TrainConfig`, the seed and the output
folder). ``pretrained_command(name)`` renders the two commands from the recipe;
``PRETRAINED[name].train_config()`` is the run's
:class:`~ntm_numpy.training.config.TrainConfig`. ``docs/results/shipped_models.md`` gives
the time each took and the bit errors each reaches.
"""
import os
from dataclasses import dataclass

from .._validation import check_choice, warn_deprecated

_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Recipe:
    """How a shipped model was made: a training run, then ``ntm-numpy export``.

    Parameters
    ----------
    file : str
        The checkpoint in this folder.
    description : str
        What the model is.
    settings : dict
        The run's settings but the seed, flat (:meth:`TrainConfig.to_flat` names), each
        one that differs from the setting's own default on the command line, including
        those of the task's default run (so that the recipe stays the run it was when a
        task's defaults change; the rendered command leaves out what equals them).
    seed : int
    out : str
        The run's output folder (``--out``).

    Indexing (``PRETRAINED[name][0]``, ``[1]``, ``[2]``: the file, the command, the
    description, as when :data:`PRETRAINED` held tuples) is deprecated; it warns.
    """

    file: str
    description: str
    settings: dict
    seed: int
    out: str

    def train_config(self):
        """The run's :class:`~ntm_numpy.training.config.TrainConfig`.

        Returns
        -------
        TrainConfig
        """
        from ..training.config import TrainConfig

        return TrainConfig(**self.settings, seed=self.seed)

    @property
    def command(self):
        """The ``ntm-numpy train`` command line of the run, rendered from the settings
        (:func:`ntm_numpy.training.options.render_train_command`)."""
        from ..training.options import render_train_command

        return render_train_command({**self.settings, "seed": self.seed}, out=self.out)

    def __getitem__(self, index):
        warn_deprecated("PRETRAINED[name][index]",
                        "PRETRAINED[name].file, .command or .description")
        return (self.file, self.command, self.description)[index]


#: name -> :class:`Recipe` of each shipped model.
PRETRAINED = {
    "copy": Recipe(
        "copy.npz", "NTM, copy task, lengths 1..20, then 1..60 once learnt: the task's "
        "default run, seed 0",
        dict(task="copy", implementation="fused"),
        seed=0, out="runs/copy"),
    "copy_lstm": Recipe(
        "copy_lstm.npz", "LSTM without memory (256 units), copy task, lengths 1..20: the "
        "baseline's default run, seed 0",
        dict(task="copy", model="lstm", implementation="fused", updates=20000),
        seed=0, out="runs/copy_lstm"),
    "repeat_copy": Recipe(
        "repeat_copy.npz",
        "NTM with a controller of 50 units, repeat copy, lengths 1..10; 1..10 repeats until "
        "converged, then 1..20 repeats: the task's default run, seed 0",
        dict(task="repeat_copy", controller_size=50, implementation="fused", updates=30000,
             clip_norm=10.0,
             task_settings_after_converged={"max_repeats": 20, "repeat_scale": 10}),
        seed=0, out="runs/repeat_copy"),
    "associative_recall": Recipe(
        "associative_recall.npz", "NTM, associative recall, 2..6 items of 3 six-bit vectors: "
        "the task's default run, seed 0",
        dict(task="associative_recall", implementation="fused"),
        seed=0, out="runs/associative_recall"),
    "ngrams": Recipe(
        "ngrams.npz", "NTM with 256 memory rows and write heads that start walking forward, "
        "dynamic 6-grams, 200-bit streams: the task's default run, seed 0",
        dict(task="ngrams", memory_rows=256, head_init="write_forward",
             implementation="fused", updates=12000, eval_every=500, workers=2),
        seed=0, out="runs/ngrams"),
    "priority_sort": Recipe(
        "priority_sort.npz",
        "NTM, feed-forward controller of 512 units, 4 read and 4 write heads, priority sort "
        "of 20 vectors (16 outputs): the task's default run, seed 0",
        dict(task="priority_sort", controller="feedforward", controller_size=512,
             read_heads=4, write_heads=4, memory_init="learned", head_init="write_forward",
             implementation="fused", lr=1e-3, updates=24000, batch_size=8, eval_every=1000),
        seed=0, out="runs/priority_sort"),
}


def pretrained_path(name):
    """Path of the shipped checkpoint ``name`` (one of :data:`PRETRAINED`).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    check_choice("name", name, PRETRAINED)
    return os.path.join(_HERE, PRETRAINED[name].file)


def pretrained_command(name):
    """The two commands that reproduce the shipped checkpoint ``name``, rendered from its
    recipe: the training run, then the export.

    Parameters
    ----------
    name : str
        One of :data:`PRETRAINED`.

    Returns
    -------
    str
        Two lines, e.g. ``ntm-numpy train copy --seed 0 --out runs/copy`` and
        ``ntm-numpy export runs/copy/checkpoint.npz ntm_numpy/pretrained/copy.npz
        --overwrite`` (the export replaces the shipped file, so it says so).
    """
    check_choice("name", name, PRETRAINED)
    recipe = PRETRAINED[name]
    return (f"{recipe.command}\nntm-numpy export {recipe.out}/checkpoint.npz "
            f"ntm_numpy/pretrained/{recipe.file} --overwrite")


def load_pretrained(name):
    """A trained model from the package data, e.g. ``load_pretrained("copy")``.

    Parameters
    ----------
    name : str
        One of :data:`PRETRAINED`.

    Returns
    -------
    NTM or LSTMBaseline
        An :class:`ntm_numpy.NTM` (an :class:`ntm_numpy.LSTMBaseline` for
        ``"copy_lstm"``). The commands that made it are ``pretrained_command(name)``;
        its training settings are also in the checkpoint's metadata.
    """
    from ..model import load

    path = pretrained_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"name: the shipped model {name!r} is missing from {path}")
    return load(path)

"""Trained models shipped with the package, and the commands that made them.

Each model is an ``.npz`` checkpoint in this folder, written by the two commands listed
in :data:`PRETRAINED`: a training run with a fixed seed, then ``ntm-numpy export``,
which keeps the parameters and the training settings and drops the optimiser state.
``docs/results.md`` gives the time each took and the bit errors each reaches;
``ntm_numpy.cli.train_config_from_command(PRETRAINED[name][1])`` gives the
:class:`ntm_numpy.train.TrainConfig` of a training command.
"""
import os

from .._validation import check_choice

_HERE = os.path.dirname(os.path.abspath(__file__))

#: name -> (file in this folder, command that trains it, what it is)
PRETRAINED = {
    "copy": (
        "copy.npz",
        "ntm-numpy train copy --steps 15000 --eps 1e-8 --clip-norm 10 "
        "--task-setting-after-converged max_length=20 --seed 0 --out runs/copy_15k",
        "NTM, copy task, lengths 1..20",
    ),
    "copy_lstm": (
        "copy_lstm.npz",
        "ntm-numpy train copy --model lstm --hidden-size 192 --task-setting max_length=10 "
        "--steps 20000 --eps 1e-8 --clip-norm 10 --seed 0 --out runs/copy_lstm",
        "LSTM without memory (192 units), copy task, lengths 1..10",
    ),
    "repeat_copy": (
        "repeat_copy.npz",
        "ntm-numpy train repeat_copy --steps 30000 --clip-norm 10 --controller-size 50 "
        "--task-setting-after-converged max_repeats=20 "
        "--task-setting-after-converged repeat_scale=10 --seed 2 --out runs/repeat_copy",
        "NTM with a controller of 50 units, repeat copy, lengths 1..10; 1..10 repeats until "
        "converged, then 1..20 repeats",
    ),
    "associative_recall": (
        "associative_recall.npz",
        "ntm-numpy train associative_recall --eps 1e-8 --clip-norm 10 --seed 0 "
        "--out runs/associative_recall",
        "NTM, associative recall, 2..6 items of 3 six-bit vectors",
    ),
    "ngrams": (
        "ngrams.npz",
        "ntm-numpy train ngrams --steps 12000 --eval-every 500 --memory-rows 256 --workers 2 "
        "--seed 2 --out runs/ngrams",
        "NTM with 256 memory rows, dynamic 6-grams, 200-bit streams",
    ),
    "priority_sort": (
        "priority_sort.npz",
        "ntm-numpy train priority_sort --steps 24000 --batch-size 8 --eval-every 1000 "
        "--controller feedforward --controller-size 512 --read-heads 4 --write-heads 4 "
        "--memory-init learned --seed 0 --out runs/priority_sort",
        "NTM, feed-forward controller of 512 units, 4 read and 4 write heads, priority sort "
        "of 20 vectors (16 outputs)",
    ),
}


def pretrained_path(name):
    """Path of the shipped checkpoint ``name`` (one of :data:`PRETRAINED`)."""
    check_choice("name", name, PRETRAINED)
    return os.path.join(_HERE, PRETRAINED[name][0])


def pretrained_command(name):
    """The two commands that reproduce the shipped checkpoint ``name``."""
    check_choice("name", name, PRETRAINED)
    file, command, _ = PRETRAINED[name]
    out = command.split("--out ")[1].split()[0]
    return f"{command}\nntm-numpy export {out}/checkpoint.npz ntm_numpy/pretrained/{file}"


def load_pretrained(name):
    """A trained model from the package data, e.g. ``load_pretrained("copy")``.

    Returns an :class:`ntm_numpy.NTM` (an :class:`ntm_numpy.LSTMBaseline` for
    ``"copy_lstm"``). The command that trained it is ``pretrained_command(name)``; its
    training settings are also in the checkpoint's metadata.
    """
    from ..model import load

    path = pretrained_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"name: the shipped model {name!r} is missing from {path}")
    return load(path)

"""Trained models shipped with the package, and the commands that made them.

Each model is an ``.npz`` checkpoint in this folder, written by the command listed in
:data:`PRETRAINED` (fixed seed; see ``docs/results.md`` for the time each took and the
figures each reaches).
"""
import os

from .._validation import check_choice

_HERE = os.path.dirname(os.path.abspath(__file__))

#: name -> (file, command that reproduces it)
PRETRAINED = {
    "copy": ("copy.npz", "ntm-numpy train copy --steps 5000 --seed 0 --out runs/copy"),
}


def pretrained_path(name):
    """Path of the shipped checkpoint ``name`` (one of :data:`PRETRAINED`)."""
    check_choice("name", name, PRETRAINED)
    return os.path.join(_HERE, PRETRAINED[name][0])


def load_pretrained(name):
    """A trained model from the package data: ``load_pretrained("copy")``.

    Returns an :class:`ntm_numpy.NTM`; the training command and its settings are in
    :data:`PRETRAINED` and ``docs/results.md``.
    """
    from ..model import load

    path = pretrained_path(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"name: the shipped model {name!r} is missing from {path}")
    return load(path)

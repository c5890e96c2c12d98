"""ntm_numpy: a Neural Turing Machine (Graves, Wayne & Danihelka 2014) written by hand in NumPy.

Every forward and backward pass is hand-written; each differentiable operation is a pair
``op_forward(...) -> (out, cache)`` and ``op_backward(dout, cache) -> grads``:

* :mod:`ntm_numpy.memory` - read (eq 2), write (eqs 3-4)
* :mod:`ntm_numpy.addressing` - cosine similarity (6), content weighting (5),
  interpolation (7), shift (8), sharpening (9), and the whole chain
* :mod:`ntm_numpy.controller` - LSTM step and feed-forward controller
* :mod:`ntm_numpy.heads` - from controller output to head parameters
* :mod:`ntm_numpy.losses` - sigmoid cross-entropy with a mask
* :class:`NTM` - the model unrolled over time, with backpropagation through time
* :mod:`ntm_numpy.gradcheck` - central differences and relative error
* :mod:`ntm_numpy.tasks`, :mod:`ntm_numpy.optim` - the paper's tasks and optimisers;
  :func:`load_pretrained` - trained models

Around the model, in subpackages that import it and are never imported by it:
:mod:`ntm_numpy.training` (the training loop, evaluation, sweeps),
:mod:`ntm_numpy.course` (the notebooks' checkers and the capstone) and
:mod:`ntm_numpy.plotting` (figures and animations of a recorded forward pass).
"""
from . import activations, addressing, controller, gradcheck, heads, losses, memory, optim, tasks
from .baseline import LSTMBaseline
from .checkpoint import CheckpointError
from .model import NTM, load
from .pretrained import PRETRAINED, load_pretrained

__version__ = "0.1.0"

__all__ = [
    "NTM", "LSTMBaseline", "load", "load_pretrained", "PRETRAINED", "CheckpointError",
    "activations", "addressing", "controller", "gradcheck", "heads", "losses", "memory",
    "optim", "tasks",
]

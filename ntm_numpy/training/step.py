"""One training update: forward, masked loss, backward, clipping, the optimiser's step.

Graves et al. 2014, section 4: sigmoid outputs, cross-entropy, every gradient component
clipped to +-10. :func:`train_step` is the update that :func:`ntm_numpy.training.train`,
the worker processes (:mod:`ntm_numpy.training.parallel`), the notebooks and the
course's capstone all run::

    x, y, mask = task.batch(rng, batch_size)             # (T, B, .)
    result = train_step(model, optimizer, (x, y, mask))  # loss, bit errors, logits

Departure from the paper: the global gradient norm is clipped too (``clip_norm``, see
:data:`ntm_numpy.training.config.CLIP_NORM`).
"""
import math
from typing import NamedTuple, Optional

import numpy as np

from ..constants import CLIP_VALUE
from ..losses import sigmoid_cross_entropy_backward, sigmoid_cross_entropy_forward
from ..optim import clip_elementwise, clip_global_norm
from ..tasks import bit_errors_per_sequence


class NotFinite(FloatingPointError):
    """An update produced a NaN or infinite output, loss or parameter.

    Its message says what (e.g. "the outputs are not finite"); the training loop adds
    the update's number and stops the run with
    :class:`ntm_numpy.training.TrainingDiverged`.
    """


class BatchGradients(NamedTuple):
    """What :func:`batch_gradients` returns."""

    logits: np.ndarray  # (T, B, Y)
    loss: float  # ``weight`` times the mean loss per sequence, in nats (a NumPy scalar)
    grads: Optional[dict]  # name -> gradient of that loss; None when the logits are not finite


class UpdateResult(NamedTuple):
    """What :func:`train_step` returns."""

    loss: float  # the batch's mean loss per sequence, in nats, before the update
    bit_errors: float  # the batch's mean bit errors per sequence, before the update
    logits: np.ndarray  # (T, B, Y) the outputs the update was computed from


def batch_gradients(model, x, y, mask, *, weight=1.0, backward=None):
    """Logits, loss and gradients of ``model`` on a batch (or a share of one).

    Parameters
    ----------
    model : NTM or LSTMBaseline
    x : (T, B, X) inputs; y : (T, B, Y) targets in {0, 1}; mask : (T, B) 1 where the
        output counts
    weight : float, scales the loss and its gradients: the share's part of a batch cut
        among worker processes (B_s / B), 1 for a whole batch
    backward : optional callable ``backward(dlogits, cache) -> grads`` used instead of
        ``model.backward`` (e.g. a student's backpropagation through time)

    Returns
    -------
    BatchGradients
    """
    logits, cache = model.forward(x)
    if not np.isfinite(logits).all():  # the caller reports it
        return BatchGradients(logits, float("nan"), None)
    loss, lcache = sigmoid_cross_entropy_forward(logits, y, mask)
    dlogits = sigmoid_cross_entropy_backward(weight, lcache)[0]
    grads = (model.backward if backward is None else backward)(dlogits, cache)
    return BatchGradients(logits, weight * loss, grads)


def train_step(model, optimizer, batch, backward=None, *, clip=CLIP_VALUE, clip_norm=None,
               gradients=None):
    """One update of ``model``'s parameters on ``batch``, in place.

    Parameters
    ----------
    model : NTM or LSTMBaseline
    optimizer : an optimiser of :mod:`ntm_numpy.optim` (its ``lr`` as set by the caller)
    batch : ``(x, y, mask)``, x (T, B, X), y (T, B, Y), mask (T, B), as ``Task.batch``
        draws them
    backward : optional callable ``backward(dlogits, cache) -> grads`` used instead of
        ``model.backward`` (the capstone trains through a student's)
    clip : element-wise gradient clip (the paper's +-10)
    clip_norm : optional global-norm clip applied after it (None: none)
    gradients : optional callable ``gradients(x, y, mask) -> (logits, loss, grads)``
        computing the forward, loss and backward instead (e.g.
        :class:`ntm_numpy.training.parallel.BatchWorkers`, which shares the batch among
        processes); not with ``backward``

    Returns
    -------
    UpdateResult

    Raises
    ------
    NotFinite
        The outputs, the loss or the updated parameters are not finite (a
        ``FloatingPointError`` raised under ``np.errstate(all="raise")`` passes through
        as it is). The parameters are only changed when the outputs and the loss are
        finite.
    """
    if gradients is not None and backward is not None:
        raise ValueError("backward: expected None when gradients is given (the gradients "
                         "callable runs its own backward pass)")
    x, y, mask = batch
    if gradients is None:
        logits, loss, grads = batch_gradients(model, x, y, mask, backward=backward)
    else:
        logits, loss, grads = gradients(x, y, mask)
    if not np.isfinite(logits).all():
        raise NotFinite("the outputs are not finite")
    if not math.isfinite(loss):
        raise NotFinite(f"the loss is {loss}")
    grads = clip_elementwise(grads, clip)
    if clip_norm is not None:
        grads, _ = clip_global_norm(grads, clip_norm)
    optimizer.step(model.params, grads)
    if not all(np.isfinite(v).all() for v in model.params.values()):
        raise NotFinite("the parameters are not finite after the update")
    bits = float(bit_errors_per_sequence(logits, y, mask).mean())
    return UpdateResult(float(loss), bits, logits)

"""One time step of the NTM made of the primitives, forward and backward.

This is the step :class:`ntm_numpy.model.NTM` runs by default (``implementation="reference"``): a
chain of the forward/backward pairs of :mod:`ntm_numpy.controller`,
:mod:`ntm_numpy.heads`, :mod:`ntm_numpy.addressing` (eqs 5-9) and :mod:`ntm_numpy.memory`
(eqs 2-4), each called through ``ops``, a mapping from the primitive's name to a function
(:data:`DEFAULT_OPS`, the package's own; ``NTM(..., ops={"write_backward": fn})`` swaps
one). The backward calls the same primitives in reverse, one line per forward line.
:mod:`ntm_numpy.fused_step` is the same maths rearranged for speed.

Notation
--------
B batch, H controller units, N memory rows, M row width, R read heads, W write heads,
K = R + W heads (reads first), S = 2k+1 shift offsets, P head-map width, G controller
pre-activation width (4H for the LSTM, H for the feed-forward controller). The heads are
stacked along the batch axis for the addressing primitives: an array of shape (K*B, ...)
holds head 0's batch, then head 1's, and so on; each head sees the same memory.

Equations (Graves et al. 2014)
------------------------------
controller  :math:`h_t, c_t` = LSTM gates of :math:`z_t` (or :math:`h_t = \\tanh z_t`)
heads       key, beta, g, s, gamma (and erase, add) from :math:`h_t W + b`
(5)-(6)     :math:`w^c = \\operatorname{softmax}_i(\\beta K[k, M_{t-1}(i)])`
(7)         :math:`w^g = g w^c + (1 - g) w_{t-1}`
(8)         :math:`\\tilde w(i) = \\sum_j w^g(j) s(i - j)`
(9)         :math:`w = \\tilde w^\\gamma / \\sum_j \\tilde w(j)^\\gamma`
(2)         :math:`r = \\sum_i w(i) M_{t-1}(i)` for each read head
(3)-(4)     :math:`M \\leftarrow M (1 - w e) + w a` for each write head in turn
"""
import inspect
from functools import partial
from types import MappingProxyType
from typing import List, NamedTuple, Optional

import numpy as np

from . import activations, addressing, controller, heads, memory
from .heads import HeadParams, head_layout


class Dims(NamedTuple):
    """The sizes a step needs (see the module notation)."""

    H: int
    M: int
    N: int
    R: int
    W: int
    S: int
    lstm: bool

    @property
    def K(self):
        """The number of heads, R + W."""
        return self.R + self.W

    @property
    def layout(self):
        """The :class:`ntm_numpy.heads.HeadLayout` of the head map."""
        return head_layout(self.M, self.S, self.R, self.W)


#: The primitives the reference step calls, by name: the package's own functions.
DEFAULT_OPS = MappingProxyType({
    f"{name}_{d}": getattr(module, f"{name}_{d}")
    for module, names in (
        (controller, ("lstm_gates",)),
        (activations, ("tanh",)),
        (heads, ("head_params", "erase_add")),
        (addressing, ("content_weighting", "interpolation", "shift", "sharpen")),
        (memory, ("read", "write")),
    )
    for name in names
    for d in ("forward", "backward")
})


#: :func:`step_backward` takes the head map's weights as they are, ``heads_W`` (H, P)
#: (the fused step takes them transposed: ``ntm_numpy.fused_step.TRANSPOSED_HEADS_W``)
TRANSPOSED_HEADS_W = False

#: The primitives with a keyword ``check`` (their input checks): the model's loop calls
#: the package's own with ``check=False``, since it checked its inputs on entry.
CHECKED_OPS = frozenset(name for name, fn in DEFAULT_OPS.items()
                        if "check" in inspect.signature(fn).parameters)


class Ops(dict):
    """The primitives a model's reference step calls: name -> function.

    A ``dict`` that only takes the names of :data:`DEFAULT_OPS` (any other name is a
    ``ValueError`` that lists them) and callables. ``Ops()`` holds the defaults;
    ``Ops({"write_backward": fn})`` the defaults with one replaced.
    """

    def __init__(self, replacements=None):
        super().__init__(DEFAULT_OPS)
        self.update(replacements or {})

    def __setitem__(self, name, fn):
        if name not in DEFAULT_OPS:
            raise ValueError(f"ops: unknown primitive {name!r}; expected one of "
                             f"{sorted(DEFAULT_OPS)}")
        if not callable(fn):
            raise ValueError(f"ops[{name!r}]: expected a callable, got {type(fn).__name__}")
        super().__setitem__(name, fn)

    def update(self, other=(), **kwargs):
        """Replace primitives by name, each checked as ``ops[name] = fn`` is."""
        for name, fn in dict(other, **kwargs).items():
            self[name] = fn

    def __delitem__(self, name):
        raise ValueError(f"ops: cannot remove {name!r}; assign ntm_numpy.reference_step."
                         f"DEFAULT_OPS[{name!r}] to restore the package's own")

    def for_the_loop(self):
        """The functions the model's loop calls: the package's own checked primitives
        with ``check=False`` (what they would check was checked when the model's
        forward pass began), and replacements exactly as given."""
        return {name: (partial(fn, check=False)
                       if name in CHECKED_OPS and fn is DEFAULT_OPS[name] else fn)
                for name, fn in self.items()}

    def replaced(self):
        """The names whose function is not the package's own."""
        return sorted(k for k, fn in self.items() if fn is not DEFAULT_OPS[k])


class StepRecord(NamedTuple):
    """What one time step shows of itself, whichever implementation computed it: the
    record a trace keeps per step (:meth:`ntm_numpy.model.NTM.trace` stacks them into a
    :class:`ntm_numpy.recurrence.Trace`).

    Per-head arrays are (K, B, ...), reads first; erase and add (W, B, M); ``reads``
    (R, B, M) is filled in by the model (a step's cache does not hold it).
    """

    memory: np.ndarray  # (B, N, M) the memory the step started from, M_{t-1}
    w_c: np.ndarray  # (K, B, N) eq (5)
    w_g: np.ndarray  # (K, B, N) eq (7)
    w_s: np.ndarray  # (K, B, N) eq (8)
    w: np.ndarray  # (K, B, N) eq (9), the final weightings
    key: np.ndarray  # (K, B, M)
    beta: np.ndarray  # (K, B)
    g: np.ndarray  # (K, B)
    gamma: np.ndarray  # (K, B)
    s: np.ndarray  # (K, B, S)
    erase: np.ndarray  # (W, B, M)
    add: np.ndarray  # (W, B, M)
    reads: Optional[np.ndarray] = None  # (R, B, M) the read vectors r_t, eq (2)


class ReferenceStepCache(NamedTuple):
    """The caches of the primitives one reference step called, in call order."""

    memory: np.ndarray  # (B, N, M) M_{t-1}
    dims: Dims
    controller: object  # LSTMGatesCache, or the tanh cache of the feed-forward controller
    head_params: heads.HeadParamsCache  # the K heads' addressing values, (K*B, ...)
    erase_add: tuple  # the write heads' erase and add vectors, (W, B, M) each
    content: addressing.ContentCache  # eqs (5)-(6)
    interpolation: addressing.InterpolationCache  # eq (7)
    shift: addressing.ShiftCache  # eq (8)
    sharpen: addressing.SharpenCache  # eq (9)
    weightings: tuple  # (w_c, w_g, w_s, w), each (K*B, N)
    read: memory.ReadCache  # eq (2), the R read heads stacked, (R*B, ...)
    writes: List[memory.WriteCache]  # eqs (3)-(4), one per write head, in write order

    def record(self):
        """This step as a :class:`StepRecord`."""
        K, B = self.dims.K, self.memory.shape[0]
        p = self.head_params.params

        def by_head(a):  # (K*B, ...) -> (K, B, ...)
            return a.reshape((K, B) + a.shape[1:])

        w_c, w_g, w_s, w = (by_head(a) for a in self.weightings)
        erase, add = self.erase_add
        return StepRecord(self.memory, w_c, w_g, w_s, w, by_head(p.key), by_head(p.beta)[..., 0],
                          by_head(p.g)[..., 0], by_head(p.gamma)[..., 0], by_head(p.s),
                          erase, add)


def step_forward(z, c_prev, memory, w_prev, heads_W, heads_b, dims, h_out, ops=DEFAULT_OPS):
    """One step after the controller's pre-activation: controller, head parameters,
    addressing, reads and writes, each by its primitive in ``ops``.

    Parameters
    ----------
    z : (B, G) controller pre-activation, ``x_t W_x + [h_{t-1}, r_{t-1}] [W_h; W_r] + b``
    c_prev : (B, H) LSTM cell state (None for the feed-forward controller)
    memory : (B, N, M) M_{t-1}
    w_prev : (K, B, N) the heads' previous weightings
    heads_W : (H, P); heads_b : (P,)
    dims : Dims
    h_out : (B, H) array the controller output is written to
    ops : mapping name -> primitive (default :data:`DEFAULT_OPS`)

    Returns
    -------
    h : (B, H), ``h_out``; c : (B, H) cell state (None for the feed-forward controller)
    r : (R, B, M) read vectors; memory : (B, N, M) M_t; w : (K, B, N)
    cache : ReferenceStepCache
    """
    H, M, N, R, W, S, lstm = dims
    K, L, B = dims.K, dims.layout, z.shape[0]
    memory_prev = memory
    # controller (controller.py): the LSTM gates, or one tanh layer
    if lstm:
        (h, c), ctrl = ops["lstm_gates_forward"](z, c_prev)
    else:
        (h, ctrl), c = ops["tanh_forward"](z), None
    h_out[...] = h
    # head parameters (heads.py): one affine map, then each head's activations
    raw = h @ heads_W + heads_b  # (B, P)
    addr = raw[:, L.addressing].reshape(B, K, L.A).transpose(1, 0, 2).reshape(K * B, L.A)
    hp, hp_cache = ops["head_params_forward"](addr, M, S, False)  # heads stacked, (K*B, .)
    ea = raw[:, L.erase_add].reshape(B, W, 2 * M).transpose(1, 0, 2)  # (W, B, 2M)
    (erase, add), ea_cache = ops["erase_add_forward"](ea)
    # eqs (5)-(9): every head addresses M_{t-1}
    mem_k = np.broadcast_to(memory, (K, B, N, M)).reshape(K * B, N, M)
    w_c, content = ops["content_weighting_forward"](mem_k, hp.key, hp.beta)
    w_g, interp = ops["interpolation_forward"](w_c, w_prev.reshape(K * B, N), hp.g)
    w_s, shift = ops["shift_forward"](w_g, hp.s)
    w, sharpen = ops["sharpen_forward"](w_s, hp.gamma)
    # eq (2): the read heads read M_{t-1}
    r, read = ops["read_forward"](mem_k[: R * B], w[: R * B])
    # eqs (3)-(4): the write heads write in turn, head 0 first
    w_write = w[R * B :].reshape(W, B, N)
    writes = []
    for k in range(W):
        memory, write = ops["write_forward"](memory, w_write[k], erase[k], add[k])
        writes.append(write)
    cache = ReferenceStepCache(memory_prev, dims, ctrl, hp_cache, (erase, add), content,
                               interp, shift, sharpen, (w_c, w_g, w_s, w), read, writes)
    return h_out, c, r.reshape(R, B, M), memory, w.reshape(K, B, N), cache


def step_backward(dmemory, dw, dr, dh, dc, heads_W, cache, dims, draw, dz, ops=DEFAULT_OPS):
    """Backward of :func:`step_forward`, the same primitives in reverse order.

    Parameters
    ----------
    dmemory : (B, N, M) gradient of M_t
    dw : (K, B, N) gradient of w_t from the next step
    dr : (R, B, M) gradient of the read vectors r_t
    dh : (B, H) gradient of h_t from the output layer and the next step
    dc : (B, H) gradient of the cell state c_t (None for the feed-forward controller)
    heads_W : (H, P)
    cache : ReferenceStepCache
    dims : Dims
    draw : (B, P) filled with the gradient of the raw head parameters
    dz : (B, G) filled with the gradient of the controller pre-activation
    ops : mapping name -> primitive (default :data:`DEFAULT_OPS`)

    Returns
    -------
    dc_prev : (B, H) gradient of c_{t-1} (None for the feed-forward controller)
    dmemory : (B, N, M) gradient of M_{t-1}
    dw_prev : (K, B, N) gradient of the previous weightings
    """
    H, M, N, R, W, S, lstm = dims
    K, L, B = dims.K, dims.layout, dmemory.shape[0]
    dw = dw.reshape(K * B, N).copy()  # w_t feeds the next step, the reads and the writes
    dw_write = dw[R * B :].reshape(W, B, N)
    derase, dadd = np.empty((W, B, M), dmemory.dtype), np.empty((W, B, M), dmemory.dtype)
    # eqs (3)-(4): the write heads, last one first
    for k in reversed(range(W)):
        dmemory, dwk, derase[k], dadd[k] = ops["write_backward"](dmemory, cache.writes[k])
        dw_write[k] += dwk
    # eq (2): the read heads
    dmem_r, dw_r = ops["read_backward"](dr.reshape(R * B, M), cache.read)
    dw[: R * B] += dw_r
    dmemory = dmemory + dmem_r.reshape(R, B, N, M).sum(axis=0)
    # eqs (9) back to (5)
    dw_s, dgamma = ops["sharpen_backward"](dw, cache.sharpen)
    dw_g, ds = ops["shift_backward"](dw_s, cache.shift)
    dw_c, dw_prev, dg = ops["interpolation_backward"](dw_g, cache.interpolation)
    dmem_c, dkey, dbeta = ops["content_weighting_backward"](dw_c, cache.content)
    dmemory += dmem_c.reshape(K, B, N, M).sum(axis=0)  # every head read M_{t-1}
    # head parameters: through each head's activations, then back into the map's columns
    dea, = ops["erase_add_backward"]((derase, dadd), cache.erase_add)  # (W, B, 2M)
    daddr = ops["head_params_backward"](HeadParams(dkey, dbeta, dg, ds, dgamma),
                                        cache.head_params)[0]  # (K*B, A)
    draw[:, L.addressing] = daddr.reshape(K, B, L.A).transpose(1, 0, 2).reshape(B, K * L.A)
    draw[:, L.erase_add] = dea.transpose(1, 0, 2).reshape(B, W * 2 * M)
    # h feeds the heads, the output layer and the next step
    dh = dh + draw @ heads_W.T
    # controller
    if lstm:
        dz[...], dc_prev = ops["lstm_gates_backward"]((dh, dc), cache.controller)
    else:
        (dz[...],), dc_prev = ops["tanh_backward"](dh, cache.controller), None
    return dc_prev, dmemory, dw_prev.reshape(K, B, N)

"""The Neural Turing Machine: controller, heads and memory unrolled over a sequence.

Notation
--------
T time steps, B batch, X input width, Y output width, H controller units,
N memory rows, M row width, R read heads, W write heads, K = R + W heads,
S = 2k+1 shift offsets, G controller pre-activation width (4H for the LSTM, H for
the feed-forward controller).

One time step (Graves et al. 2014, figure 1 and section 3)
----------------------------------------------------------
1. The controller sees the input and the previous read vectors,
   :math:`h_t = \\mathrm{controller}([x_t, r^1_{t-1}, \\dots, r^R_{t-1}], h_{t-1})`.
2. One affine map of :math:`h_t` gives every head's raw parameters
   (:mod:`ntm_numpy.heads`: key, beta, g, s, gamma, and erase/add for write heads).
3. Every head addresses the memory as it was before this step, :math:`M_{t-1}`,
   eqs (5)-(9), starting from its own previous weighting.
4. The read heads read :math:`M_{t-1}`, eq (2).
5. The write heads write one after the other, head 0 first, each erasing then adding,
   eqs (3)-(4), giving :math:`M_t`.
6. The output is an affine map of the controller output and the new reads,
   :math:`y_t = W_y [h_t, r^1_t, \\dots, r^R_t] + b_y` (logits; the loss applies the sigmoid).

Steps 2-5 are one call per time step of the model's ``implementation`` of the step:

* ``"reference"`` (the default), :func:`ntm_numpy.reference_step.step_forward` and
  :func:`~ntm_numpy.reference_step.step_backward`: the primitives of
  :mod:`ntm_numpy.controller`, :mod:`ntm_numpy.heads`, :mod:`ntm_numpy.addressing` and
  :mod:`ntm_numpy.memory`, each called through ``model.ops`` (name -> function), so that
  any of them can be swapped for one's own, e.g. ``model.ops["write_backward"] = fn``.
* ``"fused"``, :func:`ntm_numpy.fused_step.step_forward` and
  :func:`~ntm_numpy.fused_step.step_backward`: the same maths rearranged for speed (about
  twice as fast at small batches), what ``ntm-numpy train`` runs by default.

Both give the same logits, gradients (to rounding; the tests hold them to 1e-10) and
``cache.trace()``; checkpoints do not record the implementation.

Parameters (``model.params``)
-----------------------------
``controller_Wx`` (X, G), ``controller_Wr`` (R*M, G), ``controller_Wh`` (H, G) (LSTM only),
``controller_b`` (G,); ``heads_W`` (H, P), ``heads_b`` (P,); ``output_W`` (H + R*M, Y),
``output_b`` (Y,); ``read_init`` (R, M); ``weighting_init`` (K, N) (logits); and
``memory_init`` (N, M) when ``memory_init="learned"``.

The P = K*A + W*2M columns of the head map are laid out as K blocks of
A = M + S + 3 addressing values, ``[key | beta | g | s | gamma]``, one per head (reads
first, then writes), followed by W blocks of 2M, ``[erase | add]``, one per write head.
In the forward pass the K heads' parameters and weightings carry a leading head axis,
(K, B, ...), over the one (B, N, M) memory they all address, so that one NumPy call
serves every head.

Departures from the paper
-------------------------
* With several write heads the paper applies every erase, then every add; here the
  heads write in turn (head 0 erases and adds, then head 1 on the result). With one
  write head the two are identical; in turn keeps each write the computation of
  :func:`ntm_numpy.memory.write_forward` and its backward.
* The initial state: memory is a small constant (``MEMORY_INIT_CONSTANT``) by default,
  or a fixed random matrix, or learned (``memory_init``); the initial read vectors are
  learned; each head's initial weighting is the softmax of learned logits, initialised
  to focus on row 0 (``INIT_WEIGHTING_LOGIT``; near-uniform initial weightings made
  the copy task take about twice as many sequences to learn); the LSTM starts from
  h = c = 0.
* The heads' biases, of which the paper says nothing, start at 0, or with
  ``head_init="write_forward"`` walking the write heads forward
  (:func:`ntm_numpy.heads.initial_head_biases`; docs/results/priority_sort.md).
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import fused_step, reference_step
from ._validation import (
    DeprecatedAlias,
    check_array,
    check_choice,
    check_finite,
    check_float_dtype,
    check_model_size,
    check_positive_int,
    check_seed,
    warn_deprecated,
)
from .cell import NTMCell
from .constants import (
    FORGET_BIAS,
    INIT_WEIGHTING_LOGIT,
    MEMORY_INIT_CONSTANT,
    MEMORY_INIT_RANDOM_STD,
)
from .heads import HEAD_INITS, head_layout, initial_head_biases
from .recurrence import Trace, Unrolled, backward_loop, forward_loop  # noqa: F401 (Trace: given here too)
from .reference_step import Dims, Ops

CONTROLLERS = ("lstm", "feedforward")
MEMORY_INITS = ("constant", "random", "learned")
#: The implementations of the time step an NTM can run: name -> module with
#: ``step_forward``/``step_backward``.
IMPLEMENTATIONS = {"reference": reference_step, "fused": fused_step}
#: The former name of :data:`IMPLEMENTATIONS`, kept for one release.
STEPS = IMPLEMENTATIONS


@dataclass(frozen=True)
class Option:
    """One architecture option of :class:`NTM`: its default, type, allowed values and help."""

    default: object
    type: type
    help: str
    choices: Optional[tuple] = None


#: The NTM's architecture options, declared once: :class:`NTM` takes its defaults from
#: here, and :class:`ntm_numpy.training.config.TrainConfig` and ``ntm-numpy train`` their fields and
#: flags (``memory_rows`` -> ``--memory-rows``).
NTM_OPTIONS = {
    "controller_size": Option(100, int, "controller units H"),
    "memory_rows": Option(128, int, "memory rows N"),
    "memory_width": Option(20, int, "memory row width M"),
    "read_heads": Option(1, int, "read heads R"),
    "write_heads": Option(1, int, "write heads W"),
    "shift_range": Option(1, int, "largest shift k; the heads shift by -k..k"),
    "controller": Option("lstm", str, "controller type", CONTROLLERS),
    "memory_init": Option("constant", str, "initial memory: a small constant, a fixed "
                          "random matrix, or learned", MEMORY_INITS),
    "head_init": Option("zero", str, "the heads' initial biases: all 0, or the write heads "
                        "walking one row forward per step", HEAD_INITS),
}
_D = {name: opt.default for name, opt in NTM_OPTIONS.items()}


@dataclass
class ForwardCache:
    """Everything :meth:`NTM.forward` records; :meth:`trace` stacks it for plotting.

    Attributes
    ----------
    unrolled : :class:`ntm_numpy.recurrence.Unrolled`, the forward loop's record: the
        input, the logits, the features ``[h_t, r_t]`` of every step (T+1, B, H + R*M)
        (before step 0, then after each step), the T step caches, the carry after the
        last step and the initial weightings' softmax cache
    read_heads : R
    recurrent_W : the controller's recurrent weights as one matrix, ``[W_h; W_r]``
        (LSTM) or ``W_r`` (feed-forward), as the forward pass used them
    implementation : the name of the time step's implementation that ran ("reference"
        or "fused"); the backward pass runs the same one (``step``: its deprecated alias)

    Views: ``x`` (T, B, X) the input; ``state`` (T+1, B, H + R*M) ``[h_{t-1}, r_{t-1}]``
    for t = 0..T; ``steps`` the T step caches; ``memory_final`` (B, N, M);
    ``weighting_init`` the initial weightings' softmax cache; ``logits_shape``;
    ``reads_in`` (T, B, R*M) the read vectors fed to the controller at each step
    (r_{t-1}); ``h`` (T, B, H) the controller outputs; ``features`` (T, B, H + R*M) what
    the output layer saw, ``[h_t, r_t]``.
    """

    unrolled: Unrolled
    read_heads: int
    recurrent_W: np.ndarray
    implementation: str = "reference"
    _trace: Optional["Trace"] = field(default=None, repr=False)
    step = DeprecatedAlias("implementation")

    @property
    def x(self):
        """(T, B, X) the input."""
        return self.unrolled.x

    @property
    def state(self):
        """(T+1, B, H + R*M) ``[h_{t-1}, r_{t-1}]`` for t = 0..T."""
        return self.unrolled.features

    @property
    def steps(self):
        """The T step caches."""
        return self.unrolled.steps

    @property
    def memory_final(self):
        """(B, N, M) the memory after the last step."""
        return self.unrolled.carry[0]

    @property
    def weighting_init(self):
        """The softmax cache of the initial weightings."""
        return self.unrolled.init_cache

    @property
    def logits_shape(self):
        """(T, B, Y)."""
        return self.unrolled.logits.shape

    @property
    def _H(self):
        return self.state.shape[2] - self.read_heads * self.memory_final.shape[2]

    @property
    def reads_in(self):
        """(T, B, R*M) the read vectors fed to the controller at each step, r_{t-1}."""
        return self.state[:-1, :, self._H :]

    @property
    def h(self):
        """(T, B, H) the controller outputs."""
        return self.state[1:, :, : self._H]

    @property
    def features(self):
        """(T, B, H + R*M) what the output layer saw at each step, ``[h_t, r_t]``."""
        return self.state[1:]

    def trace(self):
        """Stack the per-step records into arrays (see :class:`Trace`)."""
        if self._trace is None:
            self._trace = Trace.from_cache(self)
        return self._trace


def parameter_count(X, Y, H, N, M, R, W, k, controller="lstm"):
    """Number of parameters of an NTM of these sizes (exact Python ints, no arrays)."""
    G = 4 * H if controller == "lstm" else H
    K, S = R + W, 2 * k + 1
    P = head_layout(M, S, R, W).P
    recurrent = H * G if controller == "lstm" else 0
    return (X * G + R * M * G + recurrent + G + H * P + P + (H + R * M) * Y + Y + R * M
            + K * N)


class NTM:
    """A Neural Turing Machine with an LSTM or feed-forward controller.

    Parameters
    ----------
    input_size : int, X
    output_size : int, Y
    controller_size : int, H (default 100)
    memory_rows : int, N (default 128)
    memory_width : int, M (default 20)
    read_heads : int, R >= 1 (default 1)
    write_heads : int, W >= 1 (default 1)
    shift_range : int, k >= 0; the heads shift by the S = 2k+1 offsets -k..k (default 1)
    controller : "lstm" (default) or "feedforward"
    memory_init : "constant" (default, every cell ``MEMORY_INIT_CONSTANT``), "random"
        (a fixed matrix drawn from ``seed``, not trained) or "learned" (a parameter)
    head_init : "zero" (default, every head bias 0) or "write_forward" (the write heads'
        gate, shift and sharpening biases start so that they walk one row forward per
        step; the module notes)
    seed : int, seeds the parameter initialisation
    dtype : numpy float dtype of the parameters and the computation (float64 or float32)
    implementation : "reference" (default: the primitives, through ``ops``) or "fused"
        (the same maths rearranged for speed); see the module notes
    ops : optional dict name -> function replacing primitives of the reference step
        (names: :data:`ntm_numpy.reference_step.DEFAULT_OPS`); not with
        ``implementation="fused"``
    step : deprecated alias of ``implementation`` (warns; kept for one release)

    The defaults of the architecture options are :data:`NTM_OPTIONS`.

    Attributes
    ----------
    params : dict name -> ndarray, read by every forward call (in-place changes count)
    config : dict, the constructor arguments but ``implementation`` and ``ops``
        (JSON-serialisable; what a checkpoint stores)
    implementation : str, the implementation of the time step forward runs (may be
        reassigned); ``step`` is its deprecated alias
    ops : :class:`ntm_numpy.reference_step.Ops`, the primitives the reference step calls
    """

    def __init__(self, input_size, output_size, *, controller_size=_D["controller_size"],
                 memory_rows=_D["memory_rows"], memory_width=_D["memory_width"],
                 read_heads=_D["read_heads"], write_heads=_D["write_heads"],
                 shift_range=_D["shift_range"], controller=_D["controller"],
                 memory_init=_D["memory_init"], head_init=_D["head_init"], seed=0,
                 dtype=np.float64,
                 implementation="reference", ops=None, step=None):
        if step is not None:  # the deprecated alias
            warn_deprecated("NTM(step=...)", "NTM(implementation=...)")
            implementation = step
        X = check_positive_int("input_size", input_size)
        Y = check_positive_int("output_size", output_size)
        H = check_positive_int("controller_size", controller_size)
        N = check_positive_int("memory_rows", memory_rows)
        M = check_positive_int("memory_width", memory_width)
        R = check_positive_int("read_heads", read_heads)
        W = check_positive_int("write_heads", write_heads)
        k = check_positive_int("shift_range", shift_range, minimum=0)
        check_choice("controller", controller, CONTROLLERS)
        check_choice("memory_init", memory_init, MEMORY_INITS)
        check_choice("head_init", head_init, HEAD_INITS)
        check_seed("seed", seed)
        dt = check_float_dtype("dtype", dtype)
        check_model_size(dict(input_size=X, output_size=Y, controller_size=H, memory_rows=N,
                              memory_width=M, read_heads=R, write_heads=W, shift_range=k),
                         parameter_count(X, Y, H, N, M, R, W, k, controller) + N * M)
        self.config = dict(
            input_size=X, output_size=Y, controller_size=H, memory_rows=N, memory_width=M,
            read_heads=R, write_heads=W, shift_range=k, controller=controller,
            memory_init=memory_init, head_init=head_init, seed=int(seed), dtype=dt.name,
        )
        self.dtype = dt
        self.shift_size = 2 * k + 1
        #: where each head's parameters sit in the head map (the columns of heads_W)
        self.layout = head_layout(M, self.shift_size, R, W)
        self.implementation = implementation
        if ops is not None and not hasattr(ops, "items"):
            raise ValueError(f"ops: expected a dict name -> function, got {type(ops).__name__}")
        if ops and implementation == "fused":
            raise ValueError("ops: the fused step does not call the primitives, so it cannot "
                             "use replacements for them; expected implementation='reference', "
                             "got implementation='fused'")
        self.ops = Ops(ops)
        self.params = self._init_params(np.random.default_rng(seed))
        self.memory_buffer = None
        if memory_init == "constant":
            self.memory_buffer = np.full((N, M), MEMORY_INIT_CONSTANT, dtype=dt)
        elif memory_init == "random":
            rng = np.random.default_rng([seed, 1])
            self.memory_buffer = (MEMORY_INIT_RANDOM_STD * rng.standard_normal((N, M))).astype(dt)

    @property
    def implementation(self):
        """The implementation of the time step :meth:`forward` runs: "reference" or
        "fused" (see the module notes); may be reassigned."""
        return self._implementation

    @implementation.setter
    def implementation(self, name):
        self._implementation = check_choice("implementation", name, tuple(IMPLEMENTATIONS))

    step = DeprecatedAlias("implementation")

    def _step_functions(self, name):
        """(step_forward, step_backward) of implementation ``name``, with ``ops`` for the
        reference."""
        module = IMPLEMENTATIONS[name]
        if name == "fused":
            replaced = self.ops.replaced()
            if replaced:
                raise ValueError(f"ops: {replaced} replaced, but the fused step does not call "
                                 "the primitives; expected implementation='reference', got "
                                 "implementation='fused'")
            return module.step_forward, module.step_backward
        ops = self.ops.for_the_loop()  # the primitives' input checks were made on entry
        return (lambda *a: module.step_forward(*a, ops=ops),
                lambda *a: module.step_backward(*a, ops=ops))

    # ------------------------------------------------------------------------------------
    def _init_params(self, rng):
        c = self.config
        X, Y, H, N, M = (c["input_size"], c["output_size"], c["controller_size"],
                         c["memory_rows"], c["memory_width"])
        R, W = c["read_heads"], c["write_heads"]
        G = 4 * H if c["controller"] == "lstm" else H
        fan_in = X + R * M + (H if c["controller"] == "lstm" else 0)

        def normal(shape, fan):
            return rng.standard_normal(shape) / np.sqrt(fan)

        p = {
            "controller_Wx": normal((X, G), fan_in),
            "controller_Wr": normal((R * M, G), fan_in),
        }
        if c["controller"] == "lstm":
            p["controller_Wh"] = normal((H, G), fan_in)
            b = np.zeros(G)
            b[H : 2 * H] = FORGET_BIAS
            p["controller_b"] = b
        else:
            p["controller_b"] = np.zeros(G)
        P = self.layout.P
        p["heads_W"] = normal((H, P), H)
        p["heads_b"] = initial_head_biases(self.layout, c["head_init"])
        p["output_W"] = normal((H + R * M, Y), H + R * M)
        p["output_b"] = np.zeros(Y)
        p["read_init"] = 0.1 * rng.standard_normal((R, M))
        p["weighting_init"] = np.zeros((R + W, N))
        p["weighting_init"][:, 0] = INIT_WEIGHTING_LOGIT
        if c["memory_init"] == "learned":
            p["memory_init"] = np.full((N, M), MEMORY_INIT_CONSTANT)
        return {k: v.astype(self.dtype) for k, v in p.items()}

    # ------------------------------------------------------------------------------------
    def _check_x(self, x):
        X = self.config["input_size"]
        check_array("x", x, ndim=3)
        if x.shape[2] != X:
            raise ValueError(f"x: expected shape (T, B, {X}), got {x.shape}")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x: expected at least one time step and one sequence, got {x.shape}")
        with np.errstate(over="ignore"):  # checked after the cast: 1e300 is inf in float32
            x = x.astype(self.dtype, copy=False)
        return check_finite(f"x (as {self.dtype.name})", x)

    def initial_memory(self, batch_size):
        """(B, N, M) the memory every sequence starts from (a read-only broadcast view)."""
        init = self.params["memory_init"] if self.memory_buffer is None else self.memory_buffer
        return np.broadcast_to(init, (batch_size,) + init.shape)

    def forward(self, x, keep_cache=True):
        """Run the NTM over a batch of sequences.

        Parameters
        ----------
        x : (T, B, X) inputs, time-major
        keep_cache : bool
            False keeps no backward caches and returns ``(logits, None)``, in memory
            that does not grow with T beyond x and the logits (:meth:`predict`).

        Returns
        -------
        logits : (T, B, Y)
        cache : ForwardCache (``cache.trace()`` gives memory, weightings, ... per step)
        """
        if not keep_cache:
            return self.predict(x), None
        cell = self._cell(self.implementation)
        unrolled = forward_loop(cell, self._check_x(x), keep="caches")
        cache = ForwardCache(unrolled, self.config["read_heads"], cell.recurrent_W,
                             self.implementation)
        return unrolled.logits, cache

    def predict(self, x):
        """Logits of the NTM over a batch of sequences, keeping no backward caches.

        The same computation as :meth:`forward` (the same logits, bit for bit), for
        inference: only the current step's state is kept and the output layer runs step
        by step, so memory is O(B*N*M + T*B*(X+Y)) whatever the length, where
        :meth:`forward` keeps every step's caches (about 1 MB per step at B = 32 with the
        default sizes).

        Parameters
        ----------
        x : (T, B, X) inputs, time-major

        Returns
        -------
        logits : (T, B, Y)
        """
        return forward_loop(self._cell(self.implementation), self._check_x(x), keep=None).logits

    def trace(self, x, *, return_logits=False):
        """The :class:`Trace` of a forward pass (memory, weightings, head parameters per
        step), without the backward caches: what the plots draw, for a small batch.

        Equal to ``model.forward(x)[1].trace()``; its memory record alone is
        (T+1, B, N, M), so keep ``B`` small (the command line's ``plot`` uses one).
        ``return_logits=True`` returns ``(logits, trace)``.
        """
        unrolled = forward_loop(self._cell(self.implementation), self._check_x(x), keep="records")
        trace = Trace.from_records(unrolled.steps, unrolled.carry[0], self.config["read_heads"])
        return (unrolled.logits, trace) if return_logits else trace

    def _cell(self, implementation, recurrent_W=None):
        """The :class:`ntm_numpy.cell.NTMCell` of this model's parameters and the time
        step's ``implementation``."""
        step_forward, step_backward = self._step_functions(implementation)
        return NTMCell(self.params, self._dims(), step_forward, step_backward,
                       self.initial_memory, recurrent_W,
                       transposed_heads_W=IMPLEMENTATIONS[implementation].TRANSPOSED_HEADS_W)

    def _dims(self):
        c = self.config
        return Dims(c["controller_size"], c["memory_width"], c["memory_rows"], c["read_heads"],
                    c["write_heads"], self.shift_size, c["controller"] == "lstm")

    def backward(self, dlogits, cache, *, return_carried=False):
        """Backpropagation through time.

        Parameters
        ----------
        dlogits : (T, B, Y) gradient of the loss with respect to the logits
        cache : ForwardCache from :meth:`forward` (its implementation runs backward too)
        return_carried : bool, also return what each step's backward receives

        Returns
        -------
        grads : dict with the keys and shapes of ``params``
        carried : (only with ``return_carried``) a list of T dicts; ``carried[t]`` holds
            the gradients step t's backward pass receives, copies: ``"memory"`` (B, N, M)
            dL/dM_t; ``"weighting"`` (K, B, N) dL/dw_t through step t+1 (w_t as its
            previous weighting); ``"read"`` (R, B, M) dL/dr_t; ``"controller"`` (B, H)
            dL/dh_t through the output layer and step t+1; for the LSTM ``"cell"`` (B, H)
            dL/dc_t. All are zero at t = T-1 but ``read`` and ``controller``.
        """
        if not isinstance(cache, ForwardCache):
            raise ValueError("cache: expected the ForwardCache returned by NTM.forward, got "
                             f"{type(cache).__name__}")
        check_array("dlogits", dlogits, ndim=3, shape=cache.logits_shape)
        cell = self._cell(cache.implementation, cache.recurrent_W)
        dlogits = dlogits.astype(self.dtype, copy=False)
        H, R, M = cell.dims.H, cell.dims.R, cell.dims.M
        carried = [None] * cache.logits_shape[0]

        def record(t, dfeat, dcarry):  # what step t's backward receives, as copies
            dmemory, dw, dcell = dcarry
            B = dfeat.shape[0]
            carried[t] = {"memory": dmemory.copy(), "weighting": dw.copy(),
                          "read": dfeat[:, H:].reshape(B, R, M).transpose(1, 0, 2).copy(),
                          "controller": dfeat[:, :H].copy()}
            if dcell is not None:
                carried[t]["cell"] = dcell.copy()

        grads = backward_loop(cell, dlogits, cache.unrolled,
                              on_step=record if return_carried else None)
        grads = {k: grads[k] for k in self.params}
        return (grads, carried) if return_carried else grads

    # ------------------------------------------------------------------------------------
    def save(self, path, *, state=None, meta=None):
        """Save parameters and configuration to ``path`` (an ``.npz``; atomic).

        ``state`` (dict of arrays, e.g. an optimiser's ``state_dict()``) and ``meta``
        (JSON-serialisable dict, e.g. the training step) are stored alongside. See
        :mod:`ntm_numpy.checkpoint` for the format.
        """
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self.params, self.config, state=state, meta=meta)

    def copy(self):
        """An independent model with the same configuration and a copy of the parameters."""
        other = NTM(**{**self.config, "dtype": self.dtype}, implementation=self.implementation)
        other.ops.update(self.ops)
        other.params = {k: v.copy() for k, v in self.params.items()}
        return other

    def astype(self, dtype):
        """A copy of the model computing in ``dtype`` (float32 or float64)."""
        other = NTM(**{**self.config, "dtype": dtype}, implementation=self.implementation)
        other.ops.update(self.ops)
        other.params = {k: v.astype(other.dtype) for k, v in self.params.items()}
        return other

    def with_memory_rows(self, memory_rows):
        """A copy of the model with ``memory_rows`` rows of memory, for evaluation.

        Nothing in the model is tied to the number of rows except the initial state:
        the constant initial memory is simply taller or shorter, and each head's initial
        weighting logits are cut, or extended with a logit far below the smallest one, so
        that the added rows start with (numerically) zero weight and the initial
        weighting over the old rows is unchanged. (The outputs still change a little:
        content addressing, eq (5), spreads its weight over the new rows too.) Only ``memory_init="constant"`` models
        can be resized (a random or learned initial memory has no values for new rows).
        """
        N = check_positive_int("memory_rows", memory_rows)
        if self.config["memory_init"] != "constant":
            raise ValueError(
                "memory_rows: only a model with memory_init='constant' can change its number"
                f" of rows, this one has memory_init={self.config['memory_init']!r}"
            )
        other = NTM(**{**self.config, "memory_rows": N, "dtype": self.dtype}, implementation=self.implementation)
        other.ops.update(self.ops)
        params = {k: v.copy() for k, v in self.params.items()}
        logits = params["weighting_init"]
        old = logits.shape[1]
        if N <= old:
            params["weighting_init"] = logits[:, :N].copy()
        else:
            pad = np.full((logits.shape[0], N - old), logits.min() - 50.0, dtype=logits.dtype)
            params["weighting_init"] = np.concatenate([logits, pad], axis=1)
        other.params = params
        return other

    def __repr__(self):
        c = self.config
        return (f"NTM({c['input_size']}, {c['output_size']}, controller={c['controller']!r}, "
                f"controller_size={c['controller_size']}, memory={c['memory_rows']}x"
                f"{c['memory_width']}, heads={c['read_heads']}R/{c['write_heads']}W, "
                f"shift_range={c['shift_range']}, dtype={self.dtype.name}, "
                f"implementation={self.implementation!r})")


def load(path, *, return_checkpoint=False):
    """Load a model (an :class:`NTM` or an :class:`~ntm_numpy.baseline.LSTMBaseline`)
    saved by its ``save`` method or by training.

    The configuration is checked (sizes bounded by
    :data:`ntm_numpy.constants.MAX_MODEL_VALUES`) and the model built before any array is
    read; the file's parameter list must match the model's, and its extra state be no
    larger than an optimiser's (a few arrays per parameter), before anything is
    decompressed. Non-finite parameters (a diverged run) are refused.

    Parameters
    ----------
    path : str or path-like
    return_checkpoint : bool
        Also return the :class:`ntm_numpy.checkpoint.Checkpoint` (training state, meta).

    Raises
    ------
    ntm_numpy.checkpoint.CheckpointError
        (a ValueError) for a missing, truncated, corrupted, wrong-version file, one
        whose parameters do not match its own configuration, or whose parameters are
        not finite.
    """
    from .baseline import LSTMBaseline
    from .checkpoint import CheckpointError, load_checkpoint

    built = {}

    def expect(config, params, state):
        config = dict(config)
        kind = config.pop("kind", "ntm")
        classes = {"ntm": NTM, "lstm": LSTMBaseline}
        if kind not in classes:
            raise CheckpointError(
                f"{path}: expected a model kind in {sorted(classes)}, found {kind!r}")
        try:
            model = classes[kind](**config)
        except (TypeError, ValueError) as err:
            raise CheckpointError(
                f"{path}: invalid model configuration in checkpoint: {err}") from None
        expected = {k: (v.shape, v.dtype) for k, v in model.params.items()}
        found = {e["name"]: (tuple(e["shape"]), e["dtype"]) for e in params}
        if set(expected) != set(found):
            raise CheckpointError(
                f"{path}: parameters do not match the configuration: expected"
                f" {sorted(expected)}, found {sorted(found)}"
            )
        for k, (shape, dtype) in expected.items():
            if found[k] != (shape, dtype.str):
                raise CheckpointError(
                    f"{path}: parameter {k!r}: expected shape {shape} and dtype {dtype},"
                    f" found shape {found[k][0]} and dtype {np.dtype(found[k][1])}"
                )
        n_params = sum(v.size for v in model.params.values())
        n_state = sum(int(np.prod(e["shape"], dtype=np.int64)) for e in state)
        if n_state > 4 * n_params + 64:
            raise CheckpointError(
                f"{path}: expected extra state (an optimiser's) of at most "
                f"{4 * n_params + 64:,} values for this model, found {n_state:,}")
        built["model"] = model

    ckpt = load_checkpoint(path, expect=expect)
    model = built["model"]
    bad = [k for k, v in ckpt.params.items() if not np.all(np.isfinite(v))]
    if bad:
        raise CheckpointError(
            f"{path}: parameters {bad} hold NaN or infinite values (a diverged run?); "
            "such a model cannot be used")
    model.params = {k: np.array(v) for k, v in ckpt.params.items()}
    return (model, ckpt) if return_checkpoint else model

"""One time step of the NTM, forward and backward, fused for speed.

The same maths as :mod:`ntm_numpy.reference_step`, rearranged for speed: it computes the
equations of the primitives in :mod:`ntm_numpy.controller`, :mod:`ntm_numpy.heads`,
:mod:`ntm_numpy.addressing` (eqs 5-9) and :mod:`ntm_numpy.memory` (eqs 2-4), in the same
order, but as one flat sequence of NumPy calls: the per-call cost of NumPy (about a
microsecond, more than the arithmetic on a 128-row weighting) is what limits training at
small batch sizes, so the step keeps only the calls the arithmetic needs: no input checks
and no per-primitive caches; the K heads share one ``(K, B, ...)`` axis over the one
memory (no copy of it per head); one softplus and one sigmoid serve every head parameter
that needs one, on its columns only; the memory's gradient from the reads and from every
head's content addressing is one product; what depends only on the model's sizes (which
columns, which rows each shift offset reads) is computed once per size (:func:`_plan`);
the step keeps for its backward pass only what that pass cannot make again in a call or
two (every array kept is written once more per step and read back later, which costs
more than a cheap call: the backward pass remakes keep = 1 - w e, w_c - w_prev and
|M(i)| |k|). ``NTM(..., implementation="fused")`` runs it (``ntm-numpy train`` does by
default).
Each block below names the primitive it equals; ``tests/test_steps.py`` checks the
step against :mod:`ntm_numpy.reference_step` value for value, and its backward against
the reference step's backward and against central differences.

Notation
--------
B batch, H controller units, N memory rows, M row width, R read heads, W write heads,
K = R + W heads (reads first), S = 2k+1 shift offsets, A = M + S + 3 raw addressing
values per head, P = K*A + W*2M columns of the head map, G controller pre-activation
width. Per-head arrays carry a leading head axis, ``(K, B, ...)``; every head
addresses the one ``(B, N, M)`` memory.

Equations (Graves et al. 2014)
------------------------------
(6) :math:`K_i = \\frac{k \\cdot M(i)}{\\|k\\|\\,\\|M(i)\\|}` (smoothed norms, ``NORM_EPS``)
(5) :math:`w^c = \\operatorname{softmax}(\\beta K)`
(7) :math:`w^g = w_{t-1} + g\\,(w^c - w_{t-1})`, that is :math:`g w^c + (1 - g) w_{t-1}`
(8) :math:`\\tilde w(i) = \\sum_j s_j\\, w^g((i - o_j) \\bmod N)`
(9) :math:`w = \\tilde w^\\gamma / \\sum_i \\tilde w(i)^\\gamma`, computed on
    :math:`\\tilde w / \\max_i \\tilde w` as in :func:`ntm_numpy.addressing.sharpen_forward`
(2) :math:`r = \\sum_i w(i) M(i)`; (3)-(4) :math:`M_t(i) = M_{t-1}(i)(1 - w(i) e) + w(i) a`

Where this step differs from the primitives (by rounding only)
--------------------------------------------------------------
* Eq (7) is computed as ``w_prev + g * (w_c - w_prev)`` (three calls instead of four;
  the backward pass of g makes the difference again).
* Eq (6)'s squared row norms :math:`\\|M(i)\\|^2` are summed by ``einsum``, in an order of
  its own, where :func:`ntm_numpy.addressing.cosine_similarity_forward` calls ``vecdot``
  (one BLAS dot per row: three times as long for a 16 x 128 x 20 memory).
* Eq (9) needs neither the floor of the scale nor ``SHARPEN_EPS``: inside the model the
  shifted weighting sums to 1 (a softmax blended with the previous weighting, shifted
  by a distribution), so its largest entry is at least 1/N, and after the division the
  largest entry is exactly 1, so the normaliser is at least 1.
"""
from functools import lru_cache
from typing import List, NamedTuple

import numpy as np

from .addressing import shift_indices
from .constants import NORM_EPS
from .reference_step import StepRecord


class FusedGatesCache(NamedTuple):
    """The LSTM gates of one step (:func:`ntm_numpy.controller.lstm_gates_forward`)."""

    c_prev: np.ndarray  # (B, H) previous cell state
    ifo: np.ndarray  # (B, 3H) input, forget and output gates, side by side
    cand: np.ndarray  # (B, H) candidate tanh(z_g)
    tanh_c: np.ndarray  # (B, H) tanh of the new cell state


class FusedStepCache(NamedTuple):
    """What one step keeps for its backward pass (and for :class:`ntm_numpy.recurrence.Trace`).

    Per-head arrays are ``(K, B, ...)``, reads first, then writes.
    """

    memory: np.ndarray  # (B, N, M) the memory before this step's writes, M_{t-1}
    gates: object  # FusedGatesCache, or the (B, H) output h for the feed-forward controller
    ga: np.ndarray  # (3, K, B, 1) sigmoid of the raw beta, g and gamma (a view)
    key: np.ndarray  # (K, B, M)
    beta: np.ndarray  # (K, B, 1)
    g: np.ndarray  # (K, B, 1)
    s: np.ndarray  # (K, B, S)
    gamma: np.ndarray  # (K, B, 1)
    erase_add: np.ndarray  # (B, W, 2M) each write head's [-erase | add] (see step_forward)
    mem_sq: np.ndarray  # (B, N) (or (N,), see step_forward) smoothed squared row norms,
    # |M(i)|^2 + NORM_EPS, eq (6)
    key_sq: np.ndarray  # (K, B, 1) smoothed squared key norms
    similarity: np.ndarray  # (K, B, N) cosine similarity K[k, M(i)], eq (6)
    w_prev: np.ndarray  # (K, B, N) previous weightings
    w_c: np.ndarray  # (K, B, N) content weighting, eq (5)
    gathered: np.ndarray  # (K, B, N, S) the gated weighting w_g (eq 7) at the rows each
    # offset reads, eq (8): column S//2 (offset 0) is w_g itself
    scale: np.ndarray  # (K, B, 1) largest entry of the shifted weighting w_s, eq (8)
    scaled: np.ndarray  # (K, B, N) w_s / scale
    powered: np.ndarray  # (K, B, N) scaled ** gamma
    total: np.ndarray  # (K, B, 1) sum of powered
    w: np.ndarray  # (K, B, N) final weightings, eq (9)
    writes: List[np.ndarray]  # per write head, in write order: the memory before it

    def record(self):
        """This step as a :class:`ntm_numpy.reference_step.StepRecord`.

        The cache keeps neither w_g nor w_s (the backward pass needs neither): w_g is
        the offset-0 column of ``gathered``, and w_s is remade by the product that made
        it in :func:`step_forward`, the same values.
        """
        M = self.erase_add.shape[2] // 2
        ea = self.erase_add.transpose(1, 0, 2)  # (W, B, 2M), [-erase | add]
        w_g = self.gathered[..., self.s.shape[-1] // 2]
        w_s = (self.gathered @ self.s[..., None])[..., 0]
        return StepRecord(self.memory, self.w_c, w_g, w_s, self.w, self.key,
                          self.beta[..., 0], self.g[..., 0], self.gamma[..., 0], self.s,
                          -ea[..., :M], ea[..., M:])


#: :func:`step_backward` takes the head map's weights transposed, ``heads_WT`` (P, H), a
#: contiguous copy that :class:`ntm_numpy.cell.NTMCell` makes once per backward pass
TRANSPOSED_HEADS_W = True

#: the smallest normal number of each float dtype
_TINY = {np.dtype(t): np.finfo(t).tiny for t in (np.float32, np.float64)}


# the ufunc reductions that ndarray.sum and ndarray.max call, without their Python layer
_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce


def _rowsum(x):
    """Sums over the last axis, kept as a length-1 axis (``x.sum(-1, keepdims=True)``)."""
    return _add_reduce(x, axis=-1, keepdims=True)


def _rowmax(x):
    """Maxima over the last axis, kept as a length-1 axis."""
    return _max_reduce(x, axis=-1, keepdims=True)


def _outer(w, v):
    """Row-by-row outer products ``w[:, :, None] * v[:, None, :]``: (B, N), (B, M) -> (B, N, M)."""
    return np.einsum("bn,bm->bnm", w, v)


def _keep(w, minus_e):
    """``keep = 1 - w(i) e`` of eq (3), as ``1 + w(i) (-e)``: (B, N), (B, M) -> (B, N, M).
    The forward pass and the backward pass (which remakes it rather than keep it) both
    call this, so the two are the same values."""
    keep = _outer(w, minus_e)
    return np.add(1.0, keep, out=keep)


class _Plan(NamedTuple):
    """What every step of a model of given sizes uses, computed once per sizes (:func:`_plan`)."""

    L: object  # the HeadLayout
    gates: np.ndarray  # (3K + W*M,) the head-map columns that go through a softplus or a
    # sigmoid: every head's beta, then every head's g, then every head's gamma, then every
    # write head's erase vector (the only columns whose softplus or sigmoid is used)
    fwd: np.ndarray  # (N, S) shift_indices: the rows each offset reads, eq (8)
    bwd: np.ndarray  # (N, S) and where each row's weight went


@lru_cache(maxsize=64)
def _plan(dims):
    """The :class:`_Plan` of ``dims`` (cached: the steps of a pass share one)."""
    L = dims.layout
    heads = np.arange(L.K) * L.A
    gates = [heads + L.beta.start, heads + L.g.start, heads + L.gamma.start]
    gates += [L.erase_add.start + k * 2 * L.M + np.arange(L.M) for k in range(L.W)]
    gates = np.concatenate(gates)
    gates.flags.writeable = False
    return _Plan(L, gates, *shift_indices(dims.N, dims.S))


def step_forward(z, c_prev, memory, w_prev, heads_W, heads_b, dims, h_out):
    """One step after the controller's pre-activation: controller non-linearity, head
    parameters, addressing, reads and writes.

    Parameters
    ----------
    z : (B, G) controller pre-activation, ``x_t W_x + [h_{t-1}, r_{t-1}] [W_h; W_r] + b``
    c_prev : (B, H) LSTM cell state (ignored by the feed-forward controller)
    memory : (B, N, M) M_{t-1}
    w_prev : (K, B, N) the heads' previous weightings
    heads_W : (H, P); heads_b : (P,)
    dims : Dims
    h_out : (B, H) array the controller output is written to

    Returns
    -------
    h : (B, H), ``h_out``; c : (B, H) cell state (None for the feed-forward controller)
    r : (R, B, M) read vectors; memory : (B, N, M) M_t; w : (K, B, N)
    cache : FusedStepCache
    """
    H, M, N, R, W, S, lstm = dims
    plan = _plan(dims)
    L = plan.L
    K, A, B = L.K, L.A, z.shape[0]
    # controller, = lstm_gates_forward or tanh_forward: h is written into `h_out`
    if lstm:
        # i, f, o = sigmoid(z_i, z_f, z_o) as (1 + tanh(z/2)) / 2, as in lstm_gates_forward
        ifo = np.multiply(z[:, : 3 * H], 0.5)
        np.tanh(ifo, out=ifo)
        ifo *= 0.5
        ifo += 0.5
        i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
        cand = np.tanh(z[:, 3 * H :])
        c = f * c_prev
        c += i * cand
        tanh_c = np.tanh(c)
        h = np.multiply(o, tanh_c, out=h_out)
        gates = FusedGatesCache(c_prev, ifo, cand, tanh_c)
    else:
        h = np.tanh(z, out=h_out)
        gates = h
        c = None
    # head parameters, = the affine map and head_params_forward of every head at once
    raw = h @ heads_W
    raw += heads_b  # (B, P)
    # softplus and sigmoid of the columns that need them, at once (a quarter of the map
    # with the default sizes: the softplus is the step's dearest call per number): beta
    # and gamma are softplus, g and the erase vectors sigmoid, computed as
    # exp(z - softplus(z)); the sigmoid is also the derivative of the softplus, for the
    # backward pass
    # (B, 3K + W*M): every head's beta, g, gamma, then the erase vectors
    sub = raw.take(plan.gates, axis=1)
    soft = np.logaddexp(0.0, sub)
    sig = np.subtract(sub, soft)
    np.exp(sig, out=sig)
    sa = soft[:, : 3 * K].reshape(B, 3, K).transpose(1, 2, 0)[..., None]  # (3, K, B, 1) views:
    ga = sig[:, : 3 * K].reshape(B, 3, K).transpose(1, 2, 0)[..., None]  # beta, g, gamma
    ra = raw[:, L.addressing].reshape(B, K, A).transpose(1, 0, 2)  # (K, B, A)
    key = np.tanh(ra[..., L.key])  # (K, B, M); the other parameters are (K, B, .) views
    beta = sa[0]
    g = ga[1]
    zs = ra[..., L.s]
    s = np.subtract(zs, _rowmax(zs))
    np.exp(s, out=s)
    s /= _rowsum(s)  # softmax over the offsets
    gamma = sa[2] + 1.0  # 1 + softplus
    # = erase_add_forward, kept as [-e | a]: the write is then M (1 + w (-e)) + w a, and the
    # backward's dw(i) = d(i) . [-e | a] (see step_backward) needs no sign flip
    erase_add = np.empty((B, W, 2 * M), dtype=raw.dtype)
    np.negative(sig[:, 3 * K :].reshape(B, W, M), out=erase_add[..., L.erase])
    np.tanh(raw[:, L.erase_add].reshape(B, W, 2 * M)[..., L.add], out=erase_add[..., L.add])
    # eqs (5)-(6), = content_weighting_forward: cosine similarity of each key with every row
    dot = (memory @ key[..., None])[..., 0]  # (K, B, N), a new array
    # (B, N) smoothed squared norms; (N,) for a memory broadcast over the batch (the
    # initial one), whose B copies of each row have the one norm
    rows = memory[0] if memory.strides[0] == 0 else memory
    mem_sq = np.einsum("...m,...m->...", rows, rows)  # a third of the time of vecdot here
    mem_sq += NORM_EPS
    key_sq = np.vecdot(key, key)[..., None]
    key_sq += NORM_EPS  # (K, B, 1)
    norms = np.multiply(mem_sq, key_sq)
    np.sqrt(norms, out=norms)  # |M(i)| |k|
    similarity = np.divide(dot, norms, out=dot)  # in place of dot
    # eq (5): softmax over rows of beta * K
    w_c = beta * similarity
    w_c -= _rowmax(w_c)
    np.exp(w_c, out=w_c)
    w_c /= _rowsum(w_c)
    # eq (7), = interpolation_forward (as w_prev + g (w_c - w_prev)); the backward pass
    # remakes w_c - w_prev
    w_g = w_c - w_prev
    w_g *= g
    w_g += w_prev
    # eq (8), = shift_forward: gather the rows each offset reads, weight them by s
    gathered = w_g.take(plan.fwd, axis=-1)  # (K, B, N, S)
    w_s = (gathered @ s[..., None])[..., 0]
    # eq (9), = sharpen_forward, on w_s / max(w_s) (largest entry exactly 1, see the notes)
    scale = _rowmax(w_s)
    scaled = np.divide(w_s, scale, out=w_s)  # in place of w_s
    powered = scaled**gamma
    total = _rowsum(powered)
    w = powered / total
    # eq (2), = read_forward: the read heads read M_{t-1}
    r = (w[:R, :, None, :] @ memory)[..., 0, :]  # (R, B, M)
    # eqs (3)-(4), = write_forward of each write head in turn
    memory_before = memory
    writes = []
    for k in range(W):
        # the outer products w(i) e and w(i) a, (B, N, M): einsum gives the very products
        # of broadcasting (B, N, 1) against (B, 1, M), in about half the time (NumPy's
        # broadcast loop runs its inner loop over only the M entries of a row)
        wk = w[R + k]  # (B, N)
        writes.append(memory)
        mk = _keep(wk, erase_add[:, k, :M])  # keep = 1 - w(i) e, eq (3)
        np.multiply(memory, mk, out=mk)  # M keep (keep is not kept: the backward remakes it)
        memory = _outer(wk, erase_add[:, k, M:])  # w a
        memory += mk  # eq (4): w a + M keep, the same sum as M keep + w a
    cache = FusedStepCache(memory_before, gates, ga, key, beta, g, s, gamma, erase_add, mem_sq,
                           key_sq, similarity, w_prev, w_c, gathered, scale, scaled, powered,
                           total, w, writes)
    return h, c, r, memory, w, cache


def step_backward(dmemory, dw, dr, dh, dc, heads_WT, cache, dims, draw, dz):
    """Backward of :func:`step_forward`.

    Parameters
    ----------
    dmemory : (B, N, M) gradient of M_t
    dw : (K, B, N) gradient of w_t from the next step (modified in place)
    dr : (R, B, M) gradient of the read vectors r_t
    dh : (B, H) gradient of h_t from the output layer and the next step (modified in place)
    dc : (B, H) gradient of the cell state c_t (None for the feed-forward controller)
    heads_WT : (P, H) the head map's weights transposed, a contiguous copy (a product
        with it takes half the time of one with the view ``heads_W.T``; the cell makes
        it once per backward pass, :class:`ntm_numpy.cell.NTMCell`)
    cache : FusedStepCache
    dims : Dims
    draw : (B, P) filled with the gradient of the raw head parameters
    dz : (B, G) filled with the gradient of the controller pre-activation

    Returns
    -------
    dc_prev : (B, H) gradient of c_{t-1} (None for the feed-forward controller)
    dmemory : (B, N, M) gradient of M_{t-1}
    dw_prev : (K, B, N) gradient of the previous weightings
    """
    H, M, N, R, W, S, lstm = dims
    plan = _plan(dims)
    L = plan.L
    K, A, B = L.K, L.A, dmemory.shape[0]
    st = cache
    w = st.w
    dea = draw[:, L.erase_add].reshape(B, W, 2 * M)  # views into draw
    dra = draw[:, L.addressing].reshape(B, K, A).transpose(1, 0, 2)
    # eqs (3)-(4), = write_backward of each write head, last one first: M_t = M keep + w a,
    # keep = 1 - w e: -de = sum_i w(i) dM(i) M(i), da = sum_i w(i) dM(i), and
    # dw(i) = (dM(i) M(i)) . (-e) + dM(i) . a, the products write_backward makes, with the
    # [-e | a] the forward pass kept
    scratch = np.empty((B, N, M), dtype=dmemory.dtype)
    for k in reversed(range(W)):
        mem_k = st.writes[k]
        wk = w[R + k][:, None, :]  # (B, 1, N)
        ea = st.erase_add[:, k, :, None]  # (B, 2M, 1): [-e | a]
        dmm = np.multiply(dmemory, mem_k, out=scratch)  # dM * M, write_backward's dkeep
        np.matmul(wk, dmm, out=dea[:, k : k + 1, :M])  # -de
        np.matmul(wk, dmemory, out=dea[:, k : k + 1, M:])  # da
        dwk = dmm @ ea[:, :M]
        dwk += dmemory @ ea[:, M:]
        dw[R + k] += dwk[..., 0]
        keep = _keep(w[R + k], st.erase_add[:, k, :M])  # as the forward pass made it
        dmemory = np.multiply(dmemory, keep, out=keep)  # through M keep
    # eq (2), = read_backward: dw_r(i) = M(i) . dr_r (the memory's part joins eq 6's below)
    memory = st.memory
    dw[:R] += (memory @ dr[..., None])[..., 0]
    # eq (9), = sharpen_backward: through w = p / sum(p), p = u ** gamma, u = w_s / scale (scale held fixed)
    dp = dw * w
    np.subtract(dw, _rowsum(dp), out=dp)
    dp /= st.total
    gamma, scaled = st.gamma, st.scaled
    dw_s = scaled ** (gamma - 1.0)
    dw_s *= dp
    dw_s *= gamma / st.scale
    # four (K, B, N) arrays whose row sums are dgamma, dg, dbeta and sum_i dK(i) K(i),
    # summed in one call once all four are made
    rows = np.empty((4,) + w.shape, dtype=w.dtype)
    # d p / d gamma = p log u, 0 at u = 0 (there p = 0 and log(0 + tiny) is finite)
    logu = np.add(scaled, _TINY[scaled.dtype], out=rows[0])
    np.log(logu, out=logu)
    logu *= dp
    logu *= st.powered
    # eq (8), = shift_backward: through the weights s and the gathered rows (shift dw_s back)
    ds = (dw_s[..., None, :] @ st.gathered)[..., 0, :]
    dw_g = (dw_s.take(plan.bwd, axis=-1) @ st.s[..., None])[..., 0]
    # eq (7), = interpolation_backward: w_g = w_prev + g (w_c - w_prev)
    dg_rows = np.subtract(st.w_c, st.w_prev, out=rows[1])
    dg_rows *= dw_g
    dw_c = st.g * dw_g
    dw_prev = dw_g - dw_c
    # eqs (5)-(6), = content_weighting_backward: through the softmax, then z = beta * K
    dzc = dw_c * st.w_c
    np.subtract(dw_c, _rowsum(dzc), out=dzc)
    dzc *= st.w_c
    np.multiply(dzc, st.similarity, out=rows[2])  # for dbeta
    dsim = np.multiply(dzc, st.beta, out=rows[3])
    # eq (6): K = dot / (|M_i| |k|), |M_i| |k| remade as the forward pass made it;
    # d|x|/dx = x / |x|
    key = st.key
    norms = np.multiply(st.mem_sq, st.key_sq)
    np.sqrt(norms, out=norms)
    ddot = np.divide(dsim, norms, out=norms)
    dsim *= st.similarity  # now dK * K
    sums = _rowsum(rows)
    dgamma, dg, dbeta = sums[0], sums[1], sums[2]
    # memory: sum_k ddot_k(i) key_k + sum_r w_r(i) dr_r (the reads), as one product
    left = np.concatenate((ddot, w[:R])).transpose(1, 2, 0)  # (B, N, K + R)
    right = np.concatenate((key, dr)).transpose(1, 0, 2)  # (B, K + R, M)
    product = scratch  # free again
    dmemory += np.matmul(left, right, out=product)
    # minus sum_k dsim_k(i) K_k(i) / |M(i)|^2 M(i)
    coef = np.add.reduce(dsim, axis=0)
    coef /= st.mem_sq
    # (einsum: the products of broadcasting coef[..., None], in half the time)
    dmemory -= np.einsum("bn,bnm->bnm", coef, memory, out=product)
    dkey = (ddot[..., None, :] @ memory)[..., 0, :]
    dkey -= (sums[3] / st.key_sq) * key
    # = head_params_backward of every head: through each activation, into the views of draw
    np.multiply(dkey, 1.0 - key * key, out=dra[..., L.key])  # tanh
    ga = st.ga  # sigmoid of the raw values
    np.multiply(dbeta, ga[0], out=dra[..., L.beta])  # softplus' = sigmoid
    g = st.g
    np.multiply(dg, g * (1.0 - g), out=dra[..., L.g])  # sigmoid
    s = st.s
    np.multiply(s, ds - _rowsum(ds * s), out=dra[..., L.s])  # softmax
    np.multiply(dgamma, ga[2], out=dra[..., L.gamma])  # 1 + softplus
    # = erase_add_backward
    ne, a = st.erase_add[..., L.erase], st.erase_add[..., L.add]  # -e, a
    dea[..., L.erase] *= ne * (ne + 1.0)  # sigmoid: -de e (1 - e) = -de (-e) (-e + 1)
    dea[..., L.add] *= 1.0 - a * a  # tanh
    # h feeds the heads, the output layer and the next step
    dh += draw @ heads_WT
    # controller, = lstm_gates_backward or tanh_backward
    if lstm:
        c_prev, ifo, cand, tanh_c = st.gates
        f, o = ifo[:, H : 2 * H], ifo[:, 2 * H :]
        # through h = o tanh(c); the cell state also feeds the next step (dc)
        dcell = tanh_c * tanh_c
        np.subtract(1.0, dcell, out=dcell)
        dcell *= dh
        dcell *= o
        dcell += dc
        # through c = f c_prev + i cand, then the gate non-linearities
        np.multiply(dcell, cand, out=dz[:, :H])  # d i
        np.multiply(dcell, c_prev, out=dz[:, H : 2 * H])  # d f
        np.multiply(dh, tanh_c, out=dz[:, 2 * H : 3 * H])  # d o
        np.multiply(dcell, ifo[:, :H], out=dz[:, 3 * H :])  # d cand
        dz[:, : 3 * H] *= ifo * (1.0 - ifo)  # sigmoid
        dz[:, 3 * H :] *= 1.0 - cand * cand  # tanh
        dc_prev = dcell * f
    else:
        h = st.gates
        np.multiply(dh, 1.0 - h * h, out=dz)  # tanh
        dc_prev = None
    return dc_prev, dmemory, dw_prev

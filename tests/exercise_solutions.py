"""Reference solutions of the gradient-check exercises (``ntm_numpy.course.exercises``).

One function per exercise, named ``<name>_backward`` exactly as in the notebook's
``# EXERCISE: <name>_backward`` cells. Each is a re-derivation written independently of
the package's backward passes (loops over offsets, einsum, explicit chain rule) and is
self-contained: it uses only ``np``, which the notebook imports, so that its source,
extracted with :func:`inspect.getsource`, can replace the blank cell (see
:func:`solution_cell`). The capstone's ``step_backward`` and ``ntm_backward`` use, besides,
the names notebook 08 imports (``Carried``, ``HeadParams`` and the pieces of
``ntm_numpy.course.bptt``), imported here too.
"""
import inspect
import textwrap

import numpy as np

from ntm_numpy.course.bptt import (
    head_map_gradient,
    initial_state_gradients,
    output_backward,
    zero_carried,
)
from ntm_numpy.course.capstone import Carried
from ntm_numpy.heads import HeadParams


def read_backward(dr, cache):
    memory, w = cache
    # r[b, m] = sum_n w[b, n] memory[b, n, m]
    dmemory = np.einsum("bn,bm->bnm", w, dr)
    dw = np.einsum("bnm,bm->bn", memory, dr)
    return dmemory, dw


def write_backward(dnew_memory, cache):
    memory, w, e, a, keep = cache
    # new[b,n,m] = memory[b,n,m] (1 - w[b,n] e[b,m]) + w[b,n] a[b,m]
    G = dnew_memory
    dmemory = G * (1.0 - np.einsum("bn,bm->bnm", w, e))
    dw = np.einsum("bnm,bm->bn", G, a) - np.einsum("bnm,bnm,bm->bn", G, memory, e)
    de = -np.einsum("bnm,bnm,bn->bm", G, memory, w)
    da = np.einsum("bnm,bn->bm", G, w)
    return dmemory, dw, de, da


def cosine_similarity_backward(dK, cache):
    memory, key, mem_norm, key_norm, K = cache
    # K = dot / (nu nv) with nu = |M_n|, nv = |k| (smoothed); d|x|/dx = x / |x|
    nu = mem_norm  # (B, N)
    nv = key_norm[:, 0]  # (B,)
    dot = np.einsum("bnm,bm->bn", memory, key)
    ddot = dK / (nu * nv[:, None])
    dnu = -dK * dot / (nu**2 * nv[:, None])
    dnv = -np.sum(dK * dot / (nu * nv[:, None] ** 2), axis=1)  # (B,)
    dmemory = ddot[:, :, None] * key[:, None, :] + (dnu / nu)[:, :, None] * memory
    dkey = np.einsum("bn,bnm->bm", ddot, memory) + (dnv / nv)[:, None] * key
    return dmemory, dkey


def content_weighting_backward(dw_c, cache):
    cos_cache, beta, w = cache
    memory, key, mem_norm, key_norm, K = cos_cache
    # softmax Jacobian: dz_n = w_n (dw_n - sum_j w_j dw_j)
    dz = w * (dw_c - np.sum(w * dw_c, axis=1, keepdims=True))
    dbeta = np.sum(dz * K, axis=1, keepdims=True)
    dK = dz * beta
    # cosine similarity, written with unit vectors: K = u_hat . v_hat
    u_hat = memory / mem_norm[:, :, None]
    v_hat = key / key_norm
    # dK/du = (v_hat - K u_hat) / |u|,  dK/dv = (u_hat - K v_hat) / |v|
    dmemory = dK[:, :, None] * (v_hat[:, None, :] - K[:, :, None] * u_hat) / mem_norm[:, :, None]
    dkey = np.einsum("bn,bnm->bm", dK, u_hat - K[:, :, None] * v_hat[:, None, :]) / key_norm
    return dmemory, dkey, dbeta


def interpolation_backward(dw_g, cache):
    w_c, w_prev, g = cache
    dw_c = dw_g * g
    dw_prev = dw_g - dw_g * g
    dg = np.einsum("bn,bn->b", dw_g, w_c - w_prev)[:, None]
    return dw_c, dw_prev, dg


def shift_backward(dw_s, cache):
    gathered, s, back_index = cache
    B, N, S = gathered.shape
    w_g = gathered[:, :, S // 2]  # column of offset 0 is w_g itself
    dw_g = np.zeros_like(dw_s)
    ds = np.zeros_like(s)
    for j in range(S):
        o = j - S // 2
        # forward: w_s += s_j * roll(w_g, o); its adjoint rolls back by -o
        ds[:, j] = np.sum(dw_s * np.roll(w_g, o, axis=1), axis=1)
        dw_g += s[:, j : j + 1] * np.roll(dw_s, -o, axis=1)
    return dw_g, ds


def sharpen_backward(dout, cache):
    w, gamma, scale, scaled, powered, total, out = cache
    # out = p / total with p = u**gamma, u = w / scale: dp_n = (dout_n - sum_j dout_j out_j) / total
    dp = (dout - np.sum(dout * out, axis=1, keepdims=True)) / total
    # d u**gamma / d u = gamma u**(gamma - 1), finite at u = 0 since gamma >= 1;
    # du / dw = 1 / scale (the scale itself carries no gradient: out ignores it)
    dw = dp * gamma * scaled ** (gamma - 1.0) / scale
    # d u**gamma / d gamma = u**gamma log u (its limit, 0, at u = 0)
    safe_u = np.where(scaled > 0, scaled, 1.0)
    dgamma = np.sum(dp * powered * np.log(safe_u), axis=1, keepdims=True)
    return dw, dgamma


def lstm_step_backward(dout, cache):
    dh, dc = dout
    x, h_prev, Wx, Wh, gates = cache
    c_prev, i, f, o, g, tanh_c = gates
    # h = o tanh(c): the cell state gets dc from the next step plus the path through h
    dc_total = dc + dh * o * (1.0 - tanh_c**2)
    do = dh * tanh_c
    di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i
    dc_prev = dc_total * f
    # gate non-linearities: sigmoid' = s (1 - s), tanh' = 1 - t^2
    dz = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)])
    dx = np.einsum("bk,dk->bd", dz, Wx)
    dh_prev = np.einsum("bk,hk->bh", dz, Wh)
    dWx = np.einsum("bd,bk->dk", x, dz)
    dWh = np.einsum("bh,bk->hk", h_prev, dz)
    db = dz.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


SOLUTIONS = {
    "read": read_backward,
    "write": write_backward,
    "cosine_similarity": cosine_similarity_backward,
    "content_weighting": content_weighting_backward,
    "interpolation": interpolation_backward,
    "shift": shift_backward,
    "sharpen": sharpen_backward,
    "lstm_step": lstm_step_backward,
}


def solution_cell(name, func=None):
    """The source of a notebook exercise cell holding ``func`` (default: the reference
    solution of ``name``), renamed to ``<name>_backward`` and headed by the cell marker
    ``# EXERCISE: <name>_backward``."""
    func = SOLUTIONS[name] if func is None else func
    src = textwrap.dedent(inspect.getsource(func))
    head, sep, body = src.partition("(")
    assert head.startswith("def "), src
    return f"# EXERCISE: {name}_backward\ndef {name}_backward({body}".rstrip() + "\n"


# ----------------------------------------------------------------------------------------
# Forward passes (the forward exercises of ``check_forward`` and the notebooks)
# ----------------------------------------------------------------------------------------
def interpolation_forward(w_c, w_prev, g):
    return g * w_c + (1.0 - g) * w_prev


def read_forward(memory, w):
    return np.einsum("bn,bnm->bm", w, memory)


def write_forward(memory, w, e, a):
    return memory * (1.0 - w[:, :, None] * e[:, None, :]) + w[:, :, None] * a[:, None, :]


def cosine_similarity_forward(memory, key):
    dot = np.einsum("bnm,bm->bn", memory, key)
    mem_norm = np.sqrt(np.sum(memory**2, axis=2) + 1e-8)
    key_norm = np.sqrt(np.sum(key**2, axis=1, keepdims=True) + 1e-8)
    return dot / (mem_norm * key_norm)


def content_weighting_forward(memory, key, beta):
    z = beta * cosine_similarity_forward(memory, key)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def shift_forward(w_g, s):
    S = s.shape[1]
    out = np.zeros_like(w_g)
    for j in range(S):
        out += s[:, j : j + 1] * np.roll(w_g, j - S // 2, axis=1)
    return out


def sharpen_forward(w, gamma):
    p = (w / w.max(axis=1, keepdims=True)) ** gamma
    return p / (p.sum(axis=1, keepdims=True) + 1e-12)


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    z = x @ Wx + h_prev @ Wh + b
    H = h_prev.shape[1]
    sig = 1.0 / (1.0 + np.exp(-z[:, : 3 * H]))
    i, f, o = sig[:, :H], sig[:, H : 2 * H], sig[:, 2 * H :]
    c = f * c_prev + i * np.tanh(z[:, 3 * H :])
    return o * np.tanh(c), c


FORWARD_SOLUTIONS = {
    "read": read_forward,
    "write": write_forward,
    "cosine_similarity": cosine_similarity_forward,
    "content_weighting": content_weighting_forward,
    "interpolation": interpolation_forward,
    "shift": shift_forward,
    "sharpen": sharpen_forward,
    "lstm_step": lstm_step_forward,
}


# ----------------------------------------------------------------------------------------
# The capstone (notebooks/08_capstone_bptt.ipynb): the two ops notebook 04 does not have
# ----------------------------------------------------------------------------------------
def lstm_gates_backward(dout, cache):
    dh, dc = dout
    c_prev, i, f, o, g, tanh_c = cache
    dc_total = dc + dh * o * (1.0 - tanh_c**2)
    do = dh * tanh_c
    di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i
    dz = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)])
    return dz, dc_total * f


def head_params_backward(dparams, cache):
    raw, p, M, S, write = cache
    # raw columns: key (M), beta, g, s (S), gamma; key = tanh, beta = softplus,
    # g = sigmoid, s = softmax, gamma = 1 + softplus; softplus' = sigmoid
    sig = 1.0 / (1.0 + np.exp(-raw))
    dkey = dparams.key * (1.0 - p.key**2)
    dbeta = dparams.beta * sig[:, M : M + 1]
    dg = dparams.g * p.g * (1.0 - p.g)
    ds = p.s * (dparams.s - np.sum(dparams.s * p.s, axis=1, keepdims=True))
    dgamma = dparams.gamma * sig[:, M + 2 + S : M + 3 + S]
    parts = [dkey, dbeta, dg, ds, dgamma]
    if write:
        parts += [dparams.erase * p.erase * (1.0 - p.erase), dparams.add * (1.0 - p.add**2)]
    return np.hstack(parts), None, None, None


def step_backward(step, carried, model):
    ops, p = model.ops, model.params
    H, M, N, R, W, S, lstm = step.dims
    K, B = R + W, step.memory.shape[0]
    # w_t went to step t+1 (carried), to this step's reads and to its writes
    dw = carried.weighting.reshape(K * B, N).copy()
    # eqs (3)-(4): back through the writes, the last write head first
    dmemory = carried.memory
    derase, dadd = np.zeros((W, B, M)), np.zeros((W, B, M))
    for k in reversed(range(W)):
        dmemory, dw_k, derase[k], dadd[k] = ops["write_backward"](dmemory, step.writes[k])
        dw[(R + k) * B : (R + k + 1) * B] += dw_k
    # eq (2): the read heads read M_{t-1}
    dmem_read, dw_read = ops["read_backward"](carried.read.reshape(R * B, M), step.read)
    dw[: R * B] += dw_read
    dmemory = dmemory + dmem_read.reshape(R, B, N, M).sum(axis=0)
    # eqs (9) back to (5), the K heads stacked along the batch
    dw_s, dgamma = ops["sharpen_backward"](dw, step.sharpen)
    dw_g, ds = ops["shift_backward"](dw_s, step.shift)
    dw_c, dw_prev, dg = ops["interpolation_backward"](dw_g, step.interpolation)
    dmem_content, dkey, dbeta = ops["content_weighting_backward"](dw_c, step.content)
    dmemory = dmemory + dmem_content.reshape(K, B, N, M).sum(axis=0)  # every head saw M_{t-1}
    # the head parameters, then the columns of the head map
    daddr = ops["head_params_backward"](HeadParams(dkey, dbeta, dg, ds, dgamma),
                                        step.head_params)[0]
    dea = ops["erase_add_backward"]((derase, dadd), step.erase_add)[0]
    draw = head_map_gradient(daddr, dea, step.dims)
    # h_t went to the output layer and step t+1 (carried), and to this step's heads
    dh = carried.controller + draw @ p["heads_W"].T
    dz, dc_prev = ops["lstm_gates_backward"]((dh, carried.cell), step.controller)
    # z_t = x_t W_x + h_{t-1} W_h + r_{t-1} W_r + b
    dr_prev = (dz @ p["controller_Wr"].T).reshape(B, R, M).transpose(1, 0, 2)
    back = Carried(dmemory, dw_prev.reshape(K, B, N), dr_prev, dz @ p["controller_Wh"].T,
                   dc_prev)
    return back, dz, draw


def ntm_backward(dlogits, cache, model, step_backward):
    p = model.params
    H = p["controller_Wh"].shape[0]
    out = output_backward(dlogits, cache, model)
    grads = dict(out.grads)
    for name in ("controller_Wx", "controller_Wh", "controller_Wr", "controller_b",
                 "heads_W", "heads_b"):
        grads[name] = np.zeros_like(p[name])
    carried = zero_carried(cache)
    for t in range(len(cache.steps) - 1, -1, -1):
        # h_t and r_t went to the output layer at t as well as to step t+1
        carried = carried._replace(read=carried.read + out.read[t],
                                   controller=carried.controller + out.controller[t])
        carried, dz, draw = step_backward(cache.steps[t], carried, model)
        # every step applies the same weights: their gradients add up over the steps
        grads["controller_Wx"] += cache.x[t].T @ dz
        grads["controller_Wh"] += cache.state[t][:, :H].T @ dz  # h_{t-1}
        grads["controller_Wr"] += cache.reads_in[t].T @ dz  # r_{t-1}
        grads["controller_b"] += dz.sum(axis=0)
        grads["heads_W"] += cache.h[t].T @ draw
        grads["heads_b"] += draw.sum(axis=0)
    grads.update(initial_state_gradients(cache, model, carried))
    return grads


#: The capstone's primitives, by the names of ``model.ops``.
CAPSTONE_OPS = {
    "interpolation_backward": interpolation_backward,
    "read_backward": read_backward,
    "write_backward": write_backward,
    "content_weighting_backward": content_weighting_backward,
    "shift_backward": shift_backward,
    "sharpen_backward": sharpen_backward,
    "lstm_gates_backward": lstm_gates_backward,
    "head_params_backward": head_params_backward,
}

#: The capstone's exercises (the cells of notebook 08 tagged ``exercise``) by name: its
#: two new primitives, one time step's backward and the loop over time; the instructor
#: edition fills them from here. (Notebook 08 loads the other six primitives from the
#: file notebook 04 writes.)
CAPSTONE_SOLUTIONS = {
    **CAPSTONE_OPS,
    "step_backward": step_backward,
    "ntm_backward": ntm_backward,
}


# ----------------------------------------------------------------------------------------
# The checked questions (ntm_numpy.course.questions): for each, the variable the answer cell
# assigns and the line the instructor edition puts there, or, for the forward
# exercises, None: the function of that name below (or in FORWARD_SOLUTIONS) is its body.
# ----------------------------------------------------------------------------------------
def bit_errors_per_sequence(logits, y, mask):
    wrong = (logits > 0) != (y > 0.5)
    return np.sum(wrong * mask[:, :, None], axis=(0, 2)).astype(float)


def loss(logits, y, mask):
    bce = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    return float(np.sum(bce * mask[:, :, None]) / logits.shape[1])


#: qid -> (variable or function name, answer-cell source)
ANSWERS = {
    "01.1": ("bits_to_hold", "bits_to_hold = 8 * 20"),
    "01.2": ("T_120", "T_120 = 2 * 120 + 1"),
    "02.1": ("read_forward", None),
    "02.2": ("write_forward", None),
    "03.1": ("shift_forward", None),
    "03.2": ("sharpen_forward", None),
    "05.1": ("bit_errors_per_sequence", None),
    "05.2": ("loss", None),
    "06.1": ("write_row_at_0", "write_row_at_0 = int(trace.write_weights[0, 0, 0].argmax())"),
    "06.2": ("usual_write_shift", "usual_write_shift = int(np.bincount(trace.shift[:L, "
                                  "trace.read_heads, 0].argmax(axis=1)).argmax()) "
                                  "- trace.shift.shape[-1] // 2"),
    "07.1": ("T_repeat", "T_repeat = 5 + 1 + 4 * 5 + 1"),
    "07.2": ("T_recall", "T_recall = 6 * (1 + 3) + 1 + 3 + 1 + 3"),
    "08.1": ("zero_at_last_step", 'zero_at_last_step = {"memory", "weighting", "cell"}'),
    "08.2": ("write_backward_calls", "write_backward_calls = 2 * 4 + 1"),
}

_FUNCTIONS = {"bit_errors_per_sequence": bit_errors_per_sequence, "loss": loss,
              **{f.__name__: f for f in FORWARD_SOLUTIONS.values()}}


def capstone_cell(op, func=None):
    """The source of the capstone's exercise cell for ``op`` (e.g. "step_backward")
    holding ``func`` (default: the reference solution), renamed to ``op``."""
    func = CAPSTONE_SOLUTIONS[op] if func is None else func
    src = textwrap.dedent(inspect.getsource(func))
    head, sep, body = src.partition("(")
    assert head.startswith("def "), src
    return f"# EXERCISE: {op}\ndef {op}({body}".rstrip() + "\n"

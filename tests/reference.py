"""Slow, obviously-correct loop transcriptions of the NTM paper, for the tests to compare with.

Graves, Wayne & Danihelka 2014, "Neural Turing Machines", arXiv 1410.5401.

Everything here is written element by element with plain Python loops and ``math``
(no vectorised NumPy, no index tables, nothing imported from ``ntm_numpy`` except the
named constants), so that each line can be checked against the paper by eye. The
functions take and return batch-first arrays like the package does (B batch, N rows,
M width, S = 2k+1 shift offsets, column j of ``s`` being the offset ``j - S//2``) and
simply loop over the batch.

The two documented numerical departures of ``ntm_numpy.addressing`` are reproduced:
the smoothed norm ``sqrt(u . u + NORM_EPS)`` in eq (6) and ``+ SHARPEN_EPS`` in the
normaliser of eq (9).
"""
import math

import numpy as np

from ntm_numpy.constants import NORM_EPS, SHARPEN_EPS
from ntm_numpy.heads import head_layout


# ----------------------------------------------------------------------------------------
# scalar helpers
# ----------------------------------------------------------------------------------------
def sigmoid(x):
    """1 / (1 + exp(-x)), written so that math.exp never overflows."""
    x = float(x)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)), which never overflows."""
    x = float(x)
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def softmax(values):
    """Softmax of a list of numbers (the maximum is subtracted, which changes nothing)."""
    values = [float(v) for v in values]
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def vecmat(v, W):
    """Row vector times matrix: out[j] = sum_i v[i] W[i][j]."""
    rows, cols = len(W), len(W[0]) if len(W) else 0
    out = [0.0] * cols
    for j in range(cols):
        total = 0.0
        for i in range(rows):
            total += float(v[i]) * float(W[i][j])
        out[j] = total
    return out


# ----------------------------------------------------------------------------------------
# Memory, section 3.1-3.2
# ----------------------------------------------------------------------------------------
def read_one(memory, w):
    """Eq (2): r = sum_i w(i) M(i)."""
    N, M = len(memory), len(memory[0])
    r = [0.0] * M
    for j in range(M):
        for i in range(N):
            r[j] += float(w[i]) * float(memory[i][j])
    return r


def write_one(memory, w, e, a):
    """Eqs (3)-(4): M~(i) = M(i) [1 - w(i) e];  M_new(i) = M~(i) + w(i) a."""
    N, M = len(memory), len(memory[0])
    out = [[0.0] * M for _ in range(N)]
    for i in range(N):
        for j in range(M):
            erased = float(memory[i][j]) * (1.0 - float(w[i]) * float(e[j]))  # eq (3)
            out[i][j] = erased + float(w[i]) * float(a[j])  # eq (4)
    return out


def read(memory, w):
    """Batched eq (2): memory (B, N, M), w (B, N) -> (B, M)."""
    return np.array([read_one(memory[b], w[b]) for b in range(len(memory))])


def write(memory, w, e, a):
    """Batched eqs (3)-(4): -> new memory (B, N, M)."""
    return np.array([write_one(memory[b], w[b], e[b], a[b]) for b in range(len(memory))])


# ----------------------------------------------------------------------------------------
# Addressing, section 3.3
# ----------------------------------------------------------------------------------------
def smoothed_norm(u):
    """||u|| = sqrt(u . u + NORM_EPS), the documented smoothing of the norms in eq (6)."""
    total = 0.0
    for x in u:
        total += float(x) * float(x)
    return math.sqrt(total + NORM_EPS)


def cosine_one(u, v):
    """Eq (6): K[u, v] = u . v / (||u|| ||v||)."""
    dot = 0.0
    for x, y in zip(u, v):
        dot += float(x) * float(y)
    return dot / (smoothed_norm(u) * smoothed_norm(v))


def content_one(memory, key, beta):
    """Eq (5): w_c(i) = exp(beta K[k, M(i)]) / sum_j exp(beta K[k, M(j)])."""
    return softmax([float(beta) * cosine_one(key, row) for row in memory])


def interpolate_one(w_c, w_prev, g):
    """Eq (7): w_g = g w_c + (1 - g) w_prev."""
    g = float(g)
    return [g * float(c) + (1.0 - g) * float(p) for c, p in zip(w_c, w_prev)]


def shift_one(w_g, s):
    """Eq (8): w~(i) = sum_{j=0}^{N-1} w_g(j) s((i - j) mod N).

    ``s`` is indexed by offset: column c holds the weight of the offset c - S//2. The
    paper's s(d) for a row distance d is the total weight of the offsets congruent to d
    modulo N (when S > N several offsets land on the same row and add up).
    """
    N, S = len(w_g), len(s)
    k = S // 2
    out = [0.0] * N
    for i in range(N):
        for j in range(N):
            d = (i - j) % N
            s_d = 0.0
            for c in range(S):
                if (c - k) % N == d:
                    s_d += float(s[c])
            out[i] += float(w_g[j]) * s_d
    return out


def sharpen_one(w, gamma):
    """Eq (9): u(i)^gamma / (sum_j u(j)^gamma + SHARPEN_EPS), u = w / max(w) (as
    documented in addressing.py: the same as eq (9) on w, apart from the epsilon)."""
    c = max(float(x) for x in w)
    c = c if c > 0 else 1.0
    powered = [(float(x) / c) ** float(gamma) for x in w]
    total = sum(powered) + SHARPEN_EPS
    return [p / total for p in powered]


def address_one(memory, w_prev, key, beta, g, s, gamma):
    """Eqs (5)-(9) in order; returns (w_c, w_g, w_s, w)."""
    w_c = content_one(memory, key, beta)
    w_g = interpolate_one(w_c, w_prev, g)
    w_s = shift_one(w_g, s)
    w = sharpen_one(w_s, gamma)
    return w_c, w_g, w_s, w


def cosine(memory, key):
    """Batched eq (6): (B, N, M), (B, M) -> (B, N)."""
    return np.array([[cosine_one(key[b], row) for row in memory[b]] for b in range(len(memory))])


def content(memory, key, beta):
    """Batched eq (5); beta (B, 1)."""
    return np.array([content_one(memory[b], key[b], beta[b][0]) for b in range(len(memory))])


def interpolate(w_c, w_prev, g):
    """Batched eq (7); g (B, 1)."""
    return np.array([interpolate_one(w_c[b], w_prev[b], g[b][0]) for b in range(len(w_c))])


def shift(w_g, s):
    """Batched eq (8); s (B, S)."""
    return np.array([shift_one(w_g[b], s[b]) for b in range(len(w_g))])


def sharpen(w, gamma):
    """Batched eq (9); gamma (B, 1)."""
    return np.array([sharpen_one(w[b], gamma[b][0]) for b in range(len(w))])


def address(memory, w_prev, key, beta, g, s, gamma):
    """Batched eqs (5)-(9); returns the final weighting (B, N)."""
    return np.array([
        address_one(memory[b], w_prev[b], key[b], beta[b][0], g[b][0], s[b], gamma[b][0])[3]
        for b in range(len(memory))
    ])


# ----------------------------------------------------------------------------------------
# Head parameters (the table in ntm_numpy/heads.py)
# ----------------------------------------------------------------------------------------
def head_params_one(raw, M, S, write):
    """[key (M) | beta | g | s (S) | gamma | erase (M) | add (M)] through
    tanh, softplus, sigmoid, softmax, 1 + softplus, sigmoid, tanh (the slices of one
    head's HeadLayout)."""
    L = head_layout(M, S, 0, 1) if write else head_layout(M, S, 1, 0)
    raw = [float(v) for v in raw]
    block = raw[L.addressing]
    out = {
        "key": [math.tanh(v) for v in block[L.key]],
        "beta": softplus(block[L.beta][0]),
        "g": sigmoid(block[L.g][0]),
        "s": softmax(block[L.s]),
        "gamma": 1.0 + softplus(block[L.gamma][0]),
    }
    if write:
        ea = raw[L.erase_add]
        out["erase"] = [sigmoid(v) for v in ea[L.erase]]
        out["add"] = [math.tanh(v) for v in ea[L.add]]
    return out


def head_params(raw, M, S, write):
    """Batched head map: a dict of (B, ...) arrays, scalars as (B, 1)."""
    per = [head_params_one(row, M, S, write) for row in raw]
    out = {}
    for name in per[0]:
        vals = [p[name] for p in per]
        out[name] = np.array([[v] if np.isscalar(v) else v for v in vals], dtype=np.float64)
    return out


# ----------------------------------------------------------------------------------------
# Controllers
# ----------------------------------------------------------------------------------------
def lstm_gates_one(z, c_prev):
    """Gate order i, f, o, g:  c = f c_prev + i g,  h = o tanh(c)."""
    H = len(c_prev)
    h, c = [0.0] * H, [0.0] * H
    for u in range(H):
        i = sigmoid(z[u])
        f = sigmoid(z[H + u])
        o = sigmoid(z[2 * H + u])
        g = math.tanh(float(z[3 * H + u]))
        c[u] = f * float(c_prev[u]) + i * g
        h[u] = o * math.tanh(c[u])
    return h, c


def lstm_step_one(x, h_prev, c_prev, Wx, Wh, b):
    """z = x Wx + h_prev Wh + b, then :func:`lstm_gates_one`."""
    zx, zh = vecmat(x, Wx), vecmat(h_prev, Wh)
    z = [zx[j] + zh[j] + float(b[j]) for j in range(len(b))]
    return lstm_gates_one(z, c_prev)


def lstm_gates(z, c_prev):
    """Batched: returns (h, c), each (B, H)."""
    pairs = [lstm_gates_one(z[b], c_prev[b]) for b in range(len(z))]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def lstm_step(x, h_prev, c_prev, Wx, Wh, b):
    """Batched: returns (h, c), each (B, H)."""
    pairs = [lstm_step_one(x[i], h_prev[i], c_prev[i], Wx, Wh, b) for i in range(len(x))]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def feedforward(x, W, b):
    """h = tanh(x W + b), batched."""
    out = []
    for row in x:
        z = vecmat(row, W)
        out.append([math.tanh(z[j] + float(b[j])) for j in range(len(b))])
    return np.array(out)


# ----------------------------------------------------------------------------------------
# The whole NTM (the step order documented in ntm_numpy/model.py)
# ----------------------------------------------------------------------------------------
def ntm_forward(params, config, x, memory_buffer=None):
    """Reference NTM forward pass written as loops over b, t, heads and rows.

    Parameters
    ----------
    params : the model's params dict
    config : the model's config dict (sizes, controller, memory_init)
    x : (T, B, X)
    memory_buffer : (N, M) the fixed initial memory for memory_init "constant"/"random"
        (for "learned" the initial memory is ``params["memory_init"]``)

    Returns
    -------
    logits (T, B, Y), and a dict of per-step records: "weights" (T, K, B, N) and
    "memory" (T+1, B, N, M).
    """
    H, M, N = config["controller_size"], config["memory_width"], config["memory_rows"]
    R, W = config["read_heads"], config["write_heads"]
    S = 2 * config["shift_range"] + 1
    K = R + W
    lstm = config["controller"] == "lstm"
    T, B, X = np.shape(x)
    Y = np.shape(params["output_b"])[0]
    # the head map's columns (heads.HeadLayout): K blocks of A = M + S + 3 addressing
    # values [key | beta | g | s | gamma], reads first, then W blocks of 2M values
    # [erase | add], one per write head
    L = head_layout(M, S, R, W)
    A = L.A
    # controller weights acting on [x_t, r_{t-1}]: Wx stacked over Wr
    W_in = [list(row) for row in params["controller_Wx"]]
    W_in += [list(row) for row in params["controller_Wr"]]
    if config["memory_init"] == "learned":
        mem0 = params["memory_init"]
    else:
        mem0 = memory_buffer

    logits = np.zeros((T, B, Y))
    weights_rec = np.zeros((T, K, B, N))
    memory_rec = np.zeros((T + 1, B, N, M))
    for b in range(B):
        # initial state
        memory = [[float(mem0[i][j]) for j in range(M)] for i in range(N)]
        reads = [[float(v) for v in params["read_init"][r]] for r in range(R)]
        w_prev = [softmax(params["weighting_init"][k]) for k in range(K)]
        h = [0.0] * H
        c = [0.0] * H
        memory_rec[0, b] = memory
        for t in range(T):
            # 1. controller on [x_t, r^1_{t-1}, ..., r^R_{t-1}]
            inp = [float(v) for v in x[t][b]]
            for r in range(R):
                inp += reads[r]
            zin = vecmat(inp, W_in)
            if lstm:
                zh = vecmat(h, params["controller_Wh"])
                z = [zin[j] + zh[j] + float(params["controller_b"][j]) for j in range(4 * H)]
                h, c = lstm_gates_one(z, c)
            else:
                h = [math.tanh(zin[j] + float(params["controller_b"][j])) for j in range(H)]
            # 2. every head's raw parameters from one affine map of h_t
            raw_all = vecmat(h, params["heads_W"])
            raw_all = [raw_all[j] + float(params["heads_b"][j]) for j in range(len(raw_all))]
            # 3. every head addresses M_{t-1}
            ws = []
            addressing, erase_add = raw_all[L.addressing], raw_all[L.erase_add]
            for k in range(K):
                hp = head_params_one(addressing[k * A : (k + 1) * A], M, S, write=False)
                w = address_one(memory, w_prev[k], hp["key"], hp["beta"], hp["g"], hp["s"],
                                hp["gamma"])[3]
                ws.append(w)
                weights_rec[t, k, b] = w
            # 4. read heads read M_{t-1}
            new_reads = [read_one(memory, ws[r]) for r in range(R)]
            # 5. write heads write in turn, head 0 first
            for k in range(R, K):
                ea = erase_add[(k - R) * 2 * M : (k - R + 1) * 2 * M]
                erase = [sigmoid(v) for v in ea[L.erase]]
                add = [math.tanh(v) for v in ea[L.add]]
                memory = write_one(memory, ws[k], erase, add)
            memory_rec[t + 1, b] = memory
            # 6. output from [h_t, r^1_t, ..., r^R_t]
            feat = list(h)
            for r in range(R):
                feat += new_reads[r]
            y = vecmat(feat, params["output_W"])
            for j in range(Y):
                logits[t, b, j] = y[j] + float(params["output_b"][j])
            reads, w_prev = new_reads, ws
    return logits, {"weights": weights_rec, "memory": memory_rec}

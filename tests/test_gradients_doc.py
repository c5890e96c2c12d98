"""Every formula of ``docs/gradients.md``, evaluated numerically.

Each display formula of the page carries a tag, ``\\tag{section.k}``; this module has one
test per tag (``FORMULAS``), which transcribes the formula as written on the page, in
plain loops or einsum over its indices, and compares it with central differences of
the forward pass it differentiates (or, for identities, with both sides computed
independently). ``test_every_display_formula_is_tagged_and_tested`` fails when a
display formula of the page has no tag or a tag has no test, so the page and its
tests cannot drift apart. The inline formulas that the page derives in words (the
table of head-parameter activations, the gate and affine rules) are checked by the
tests after the tagged ones.
"""
import re
from pathlib import Path

import numpy as np
import pytest

from ntm_numpy import addressing, controller, losses, memory
from ntm_numpy.activations import sigmoid
from ntm_numpy.constants import NORM_EPS, SHARPEN_EPS
from ntm_numpy.gradcheck import numerical_gradient, rel_error

PAGE = Path(__file__).resolve().parents[1] / "docs" / "gradients.md"
TOL = 1e-7
FORMULAS = {}


def formula(tag):
    def register(func):
        FORMULAS[tag] = func
        return func
    return register


def fd(f, x, d, h=1e-6):
    return numerical_gradient(f, x, d, h=h)


def rng_():
    return np.random.default_rng(7)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---- the chain rule -------------------------------------------------------------------
@formula("chain.1")
def chain_rule():
    """Introduction: v_bar_j = sum_i u_bar_i du_i/dv_j, for u = tanh(A v)."""
    rng = rng_()
    A, v, ubar = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    u = np.tanh(A @ v)
    J = (1 - u**2)[:, None] * A  # du_i / dv_j
    vbar = np.array([sum(ubar[i] * J[i, j] for i in range(4)) for j in range(3)])
    assert rel_error(vbar, fd(lambda x: np.tanh(A @ x), v, ubar)) < TOL


# ---- read, eq (2) ---------------------------------------------------------------------
def _read_case():
    rng = rng_()
    M, w = rng.standard_normal((5, 3)), rng.dirichlet(np.ones(5))
    return M, w, rng.standard_normal(3)


@formula("read.1")
def read_memory():
    """Read, eq (2): M_bar(i, m) = w(i) r_bar(m)."""
    M, w, rbar = _read_case()
    Mbar = np.array([[w[i] * rbar[m] for m in range(3)] for i in range(5)])
    num = fd(lambda X: memory.read_forward(X[None], w[None])[0][0], M, rbar)
    assert rel_error(Mbar, num) < TOL


@formula("read.2")
def read_weighting():
    """Read, eq (2): w_bar(i) = M(i) . r_bar."""
    M, w, rbar = _read_case()
    wbar = np.array([M[i] @ rbar for i in range(5)])
    num = fd(lambda x: memory.read_forward(M[None], x[None])[0][0], w, rbar)
    assert rel_error(wbar, num) < TOL


# ---- write, eqs (3)-(4) ---------------------------------------------------------------
def _write_case():
    rng = rng_()
    M, w = rng.standard_normal((5, 3)), rng.dirichlet(np.ones(5))
    e, a = rng.uniform(size=3), rng.standard_normal(3)
    return M, w, e, a, rng.standard_normal((5, 3))


def _write(M, w, e, a):
    return memory.write_forward(M[None], w[None], e[None], a[None])[0][0]


@formula("write.1")
def write_forward_formula():
    """Write, eqs (3)-(4): M'(i, m) = M(i, m) kappa(i, m) + w(i) a(m), kappa = 1 - w(i) e(m)."""
    M, w, e, a, _ = _write_case()
    new = np.array([[M[i, m] * (1 - w[i] * e[m]) + w[i] * a[m] for m in range(3)]
                    for i in range(5)])
    assert np.allclose(new, _write(M, w, e, a), rtol=1e-14, atol=1e-14)


@formula("write.2")
def write_weighting():
    """Write: w_bar(i) = sum_m [M'_bar(i,m) a(m) - kappa_bar(i,m) e(m)], kappa_bar = M'_bar M."""
    M, w, e, a, Mbar = _write_case()
    kbar = Mbar * M
    wbar = np.array([sum(Mbar[i, m] * a[m] - kbar[i, m] * e[m] for m in range(3))
                     for i in range(5)])
    assert rel_error(wbar, fd(lambda x: _write(M, x, e, a), w, Mbar)) < TOL


@formula("write.3")
def write_erase():
    """Write: e_bar(m) = -sum_i w(i) kappa_bar(i, m)."""
    M, w, e, a, Mbar = _write_case()
    kbar = Mbar * M
    ebar = np.array([-sum(w[i] * kbar[i, m] for i in range(5)) for m in range(3)])
    assert rel_error(ebar, fd(lambda x: _write(M, w, x, a), e, Mbar)) < TOL


def test_write_inline_formulas():
    """Write, 'Old memory' and 'Add vector': M_bar = M'_bar kappa and
    a_bar(m) = sum_i w(i) M'_bar(i, m)."""
    M, w, e, a, Mbar = _write_case()
    kappa = 1 - np.outer(w, e)
    assert rel_error(Mbar * kappa, fd(lambda x: _write(x, w, e, a), M, Mbar)) < TOL
    abar = np.array([sum(w[i] * Mbar[i, m] for i in range(5)) for m in range(3)])
    assert rel_error(abar, fd(lambda x: _write(M, w, e, x), a, Mbar)) < TOL


# ---- cosine similarity, eq (6) --------------------------------------------------------
def _cos_case(zero_row=False):
    rng = rng_()
    M, k = rng.standard_normal((4, 3)), rng.standard_normal(3)
    if zero_row:
        M[0] = 0.0
    return M, k, rng.standard_normal(4)


def _cos(M, k):
    return addressing.cosine_similarity_forward(M[None], k[None])[0][0]


@formula("cos.1")
def cos_forward():
    """Cosine similarity: K_i = d_i / (n_u n_v) with smoothed norms."""
    M, k, _ = _cos_case()
    K = [(M[i] @ k) / (np.sqrt(M[i] @ M[i] + NORM_EPS) * np.sqrt(k @ k + NORM_EPS))
         for i in range(4)]
    assert np.allclose(K, _cos(M, k), rtol=1e-14)


@formula("cos.2")
def cos_jacobian():
    """Cosine: dK_i/du = v/(n_u n_v) - K_i u / n_u^2 (both forms on the page)."""
    M, k, _ = _cos_case()
    nv = np.sqrt(k @ k + NORM_EPS)
    for i in range(4):
        u = M[i]
        nu = np.sqrt(u @ u + NORM_EPS)
        Ki = (u @ k) / (nu * nv)
        first = k / (nu * nv) - (u @ k) / (nu**2 * nv) * u / nu
        second = k / (nu * nv) - Ki * u / nu**2
        onehot = np.eye(4)[i]

        def row(x, i=i):
            X = M.copy()
            X[i] = x
            return _cos(X, k)

        num = fd(row, u, onehot)
        assert rel_error(first, num) < TOL and rel_error(second, num) < TOL


def _cos_memory_grad(M, k, Kbar):
    nv = np.sqrt(k @ k + NORM_EPS)
    K = _cos(M, k)
    out = np.zeros_like(M)
    for i in range(4):
        nu = np.sqrt(M[i] @ M[i] + NORM_EPS)
        out[i] = Kbar[i] / (nu * nv) * k - Kbar[i] * K[i] / nu**2 * M[i]
    return out


@formula("cos.3")
def cos_memory():
    """Cosine: M_bar(i) = K_bar_i/(n_u n_v) v - K_bar_i K_i / n_u^2 u."""
    M, k, Kbar = _cos_case()
    assert rel_error(_cos_memory_grad(M, k, Kbar), fd(lambda x: _cos(x, k), M, Kbar)) < TOL


@formula("cos.4")
def cos_key():
    """Cosine: k_bar = sum_i K_bar_i/(n_ui n_v) M(i) - (sum_i K_bar_i K_i)/n_v^2 k."""
    M, k, Kbar = _cos_case()
    K = _cos(M, k)
    nv = np.sqrt(k @ k + NORM_EPS)
    nu = np.sqrt((M**2).sum(axis=1) + NORM_EPS)
    kbar = sum(Kbar[i] / (nu[i] * nv) * M[i] for i in range(4)) - (Kbar @ K) / nv**2 * k
    assert rel_error(kbar, fd(lambda x: _cos(M, x), k, Kbar)) < TOL


@formula("cos.5")
def cos_zero_row():
    """Cosine, the zero-vector case: M_bar(i)|_{u=0} = K_bar_i / (sqrt(eps) n_v) v."""
    M, k, Kbar = _cos_case(zero_row=True)
    nv = np.sqrt(k @ k + NORM_EPS)
    expected = Kbar[0] / (np.sqrt(NORM_EPS) * nv) * k
    num = fd(lambda x: _cos(x, k), M, Kbar, h=1e-9)  # the norm curves on the scale 1e-4
    assert rel_error(expected, num[0]) < 1e-6
    assert np.allclose(_cos_memory_grad(M, k, Kbar)[0], expected, rtol=1e-12)


# ---- content weighting, eq (5) --------------------------------------------------------
@formula("content.1")
def content_softmax():
    """Content weighting: z_bar_j = w_j (w_bar_j - sum_i w_bar_i w_i)."""
    rng = rng_()
    z, wbar = rng.standard_normal(5), rng.standard_normal(5)
    w = softmax(z)
    jac = np.array([sum(wbar[i] * w[i] * ((i == j) - w[j]) for i in range(5)) for j in range(5)])
    zbar = w * (wbar - wbar @ w)
    num = fd(softmax, z, wbar)
    assert rel_error(jac, num) < TOL and rel_error(zbar, num) < TOL


def test_content_inline_formulas():
    """Content weighting: beta_bar = sum_i z_bar_i K_i and K_bar = beta z_bar."""
    rng = rng_()
    M, k, beta = rng.standard_normal((1, 4, 3)), rng.standard_normal((1, 3)), np.array([[1.7]])
    wbar = rng.standard_normal((1, 4))
    w, cache = addressing.content_weighting_forward(M, k, beta)
    K = cache.cosine.K
    zbar = w * (wbar - (wbar * w).sum())
    num_beta = fd(lambda b: addressing.content_weighting_forward(M, k, b)[0], beta, wbar)
    assert rel_error((zbar * K).sum(keepdims=True), num_beta) < TOL
    num_K = fd(lambda x: softmax(beta[0, 0] * x), K[0], wbar[0])
    assert rel_error(beta[0, 0] * zbar[0], num_K) < TOL


# ---- interpolation, eq (7) ------------------------------------------------------------
@formula("interp.1")
def interp_gate():
    """Interpolation: g_bar = sum_i w_g_bar(i) (w_c(i) - w_prev(i)); also w_c_bar = g w_g_bar,
    w_prev_bar = (1 - g) w_g_bar."""
    rng = rng_()
    wc, wp = rng.dirichlet(np.ones(5))[None], rng.dirichlet(np.ones(5))[None]
    g, d = np.array([[0.3]]), rng.standard_normal((1, 5))
    f = addressing.interpolation_forward
    assert rel_error((d * (wc - wp)).sum(keepdims=True), fd(lambda x: f(wc, wp, x)[0], g, d)) < TOL
    assert rel_error(g * d, fd(lambda x: f(x, wp, g)[0], wc, d)) < TOL
    assert rel_error((1 - g) * d, fd(lambda x: f(wc, x, g)[0], wp, d)) < TOL


# ---- shift, eq (8) --------------------------------------------------------------------
def _shift_case(N=5, S=3):
    rng = rng_()
    return rng.dirichlet(np.ones(N)), rng.dirichlet(np.ones(S)), rng.standard_normal(N)


def _f(N, S):
    return lambda i, j: (i - (j - S // 2)) % N


def _shift(w, s):
    return addressing.shift_forward(w[None], s[None])[0][0]


@formula("shift.1")
def shift_forward_formula():
    """Shift: w~(i) = sum_j s_j w_g(f(i, j)), f(i, j) = (i - o_j) mod N, also for S > N."""
    for N, S in ((5, 3), (3, 5)):
        w, s, _ = _shift_case(N, S)
        f = _f(N, S)
        out = [sum(s[j] * w[f(i, j)] for j in range(S)) for i in range(N)]
        assert np.allclose(out, _shift(w, s), rtol=1e-14)


@formula("shift.2")
def shift_s():
    """Shift: s_bar_j = sum_i w~_bar(i) w_g(f(i, j))."""
    for N, S in ((5, 3), (3, 5)):
        w, s, d = _shift_case(N, S)
        f = _f(N, S)
        sbar = [sum(d[i] * w[f(i, j)] for i in range(N)) for j in range(S)]
        assert rel_error(np.array(sbar), fd(lambda x: _shift(w, x), s, d)) < TOL


@formula("shift.3")
def shift_w_sum():
    """Shift: w_g_bar(n) = sum_j s_j sum_i w~_bar(i) [f(i, j) = n]."""
    for N, S in ((5, 3), (3, 5)):
        w, s, d = _shift_case(N, S)
        f = _f(N, S)
        wbar = [sum(s[j] * sum(d[i] * (f(i, j) == n) for i in range(N)) for j in range(S))
                for n in range(N)]
        assert rel_error(np.array(wbar), fd(lambda x: _shift(x, s), w, d)) < TOL


@formula("shift.4")
def shift_w_opposite():
    """Shift: w_g_bar(n) = sum_j s_j w~_bar((n + o_j) mod N), the opposite offsets."""
    for N, S in ((5, 3), (3, 5), (6, 5)):
        w, s, d = _shift_case(N, S)
        wbar = [sum(s[j] * d[(n + j - S // 2) % N] for j in range(S)) for n in range(N)]
        assert rel_error(np.array(wbar), fd(lambda x: _shift(x, s), w, d)) < TOL


# ---- sharpening, eq (9) ---------------------------------------------------------------
def _sharpen_case(zeros=False):
    rng = rng_()
    w = rng.dirichlet(np.ones(5))
    if zeros:
        w = np.array([0.0, 0.5, 0.5, 0.0, 0.0])
    return w, 2.0 if zeros else 1.7, rng.standard_normal(5)


def _sharpen(w, gamma):
    return addressing.sharpen_forward(w[None], np.array([[gamma]]))[0][0]


def _sharpen_parts(w, gamma):
    c = w.max()
    u = w / c
    p = u**gamma
    Z = p.sum() + SHARPEN_EPS
    return c, u, p, Z, p / Z


@formula("sharpen.1")
def sharpen_normalisation():
    """Sharpening: p_bar_j = sum_i o_bar_i (delta_ij - o_i)/Z = (o_bar_j - sum_i o_bar_i o_i)/Z."""
    w, gamma, d = _sharpen_case()
    _, _, p, Z, o = _sharpen_parts(w, gamma)
    explicit = np.array([sum(d[i] * ((i == j) - o[i]) / Z for i in range(5)) for j in range(5)])
    pbar = (d - d @ o) / Z
    num = fd(lambda x: x / (x.sum() + SHARPEN_EPS), p, d)
    assert rel_error(explicit, num) < TOL and rel_error(pbar, num) < TOL


@formula("sharpen.2")
def sharpen_w():
    """Sharpening: w_bar_i = p_bar_i gamma u_i^(gamma-1) / c, finite at w_i = 0."""
    for zeros in (False, True):
        w, gamma, d = _sharpen_case(zeros)
        c, u, p, Z, o = _sharpen_parts(w, gamma)
        wbar = (d - d @ o) / Z * gamma * u ** (gamma - 1) / c
        assert rel_error(wbar, fd(lambda x: _sharpen(x, gamma), w, d)) < TOL


@formula("sharpen.3")
def sharpen_gamma():
    """Sharpening: gamma_bar = sum_i p_bar_i u_i^gamma log u_i, the term 0 where u_i = 0."""
    for zeros in (False, True):
        w, gamma, d = _sharpen_case(zeros)
        c, u, p, Z, o = _sharpen_parts(w, gamma)
        pbar = (d - d @ o) / Z
        gbar = sum(pbar[i] * u[i] ** gamma * np.log(u[i]) for i in range(5) if u[i] > 0)
        num = fd(lambda g: _sharpen(w, g[0]), np.array([gamma]), d)
        assert rel_error(np.array([gbar]), num) < TOL


@formula("sharpen.4")
def sharpen_unscaled_term():
    """Sharpening: with the unscaled w the extra term log c sum_i p_bar_i p_i equals
    log c (sum_i o_bar_i o_i)(1 - sum_i o_i) = log c (sum_i o_bar_i o_i) eps_s / Z."""
    w, gamma, d = _sharpen_case()

    def parts(w):
        p = w**gamma  # unscaled
        Z = p.sum() + SHARPEN_EPS
        o = p / Z
        return p, Z, o, (d - d @ o) / Z

    # a weighting so small that eps_s is a visible part of Z, so the term is measurable
    tiny = 1e-6 * w
    p, Z, o, pbar = parts(tiny)
    c = tiny.max()
    lhs = np.log(c) * (pbar @ p)
    assert 1e-3 < SHARPEN_EPS / Z < 1 and abs(lhs) > 1e-4
    assert np.isclose(lhs, np.log(c) * (d @ o) * (1 - o.sum()), rtol=1e-8)
    assert np.isclose(lhs, np.log(c) * (d @ o) * SHARPEN_EPS / Z, rtol=1e-6)
    # an ordinary weighting: the term is ~eps_s, and the gradient with the unscaled w
    # is the scaled one (the package's) plus that term
    p, Z, o, pbar = parts(w)
    lhs = np.log(w.max()) * (pbar @ p)
    assert abs(lhs) < 1e-10
    num = fd(lambda g: _sharpen(w, g[0]), np.array([gamma]), d)
    assert rel_error(np.array([pbar @ (p * np.log(w)) - lhs]), num) < TOL


# ---- head parameter activations ----------------------------------------------------------
def test_head_activation_table():
    """Head parameter activations: each row of the table, derivative in terms of the output."""
    z = np.linspace(-3, 3, 7)
    d = np.cos(np.arange(7.0))
    softplus = lambda x: np.logaddexp(0, x)  # noqa: E731
    k = np.tanh(z)
    assert rel_error(d * (1 - k * k), fd(np.tanh, z, d)) < TOL                     # key, add
    assert rel_error(d * sigmoid(z), fd(softplus, z, d)) < TOL                     # beta
    assert rel_error(d * sigmoid(z), fd(lambda x: 1 + softplus(x), z, d)) < TOL    # gamma
    g = sigmoid(z)
    assert rel_error(d * g * (1 - g), fd(sigmoid, z, d)) < TOL                     # g, erase
    s = softmax(z)
    assert rel_error(s * (d - (d * s).sum()), fd(softmax, z, d)) < TOL             # s
    # softplus' = sigmoid = 1 - exp(-softplus), the form the code uses
    assert np.allclose(sigmoid(z), -np.expm1(-softplus(z)))


# ---- LSTM gates ---------------------------------------------------------------------------
def _lstm_case():
    rng = rng_()
    H = 3
    return rng.standard_normal((1, 4 * H)), rng.standard_normal((1, H)), \
        rng.standard_normal((1, H)), rng.standard_normal((1, H))


@formula("lstm.1")
def lstm_cell():
    """LSTM gates: c_bar = c_bar_out + h_bar o (1 - tanh^2 c)."""
    z, c_prev, dh, dc_out = _lstm_case()
    (h, c), cache = controller.lstm_gates_forward(z, c_prev)
    cbar = dc_out + dh * cache.o * (1 - cache.tanh_c**2)
    # the gradient of L = h.dh + c.dc_out with respect to c, with o fixed
    num = fd(lambda x: np.concatenate([(cache.o * np.tanh(x)).ravel(), x.ravel()]), c,
             np.concatenate([dh.ravel(), dc_out.ravel()]))
    assert rel_error(cbar, num) < TOL


@formula("lstm.2")
def lstm_carousel():
    """LSTM gates: c_prev_bar = c_bar f, and the gate rule z_bar = [i_bar i(1-i), ...]."""
    z, c_prev, dh, dc_out = _lstm_case()
    (h, c), cache = controller.lstm_gates_forward(z, c_prev)
    cbar = dc_out + dh * cache.o * (1 - cache.tanh_c**2)
    d = np.concatenate([dh.ravel(), dc_out.ravel()])

    def f_c(x):
        (h2, c2), _ = controller.lstm_gates_forward(z, x)
        return np.concatenate([h2.ravel(), c2.ravel()])

    assert rel_error(cbar * cache.f, fd(f_c, c_prev, d)) < TOL
    i, f, o, g = cache.i, cache.f, cache.o, cache.g
    zbar = np.concatenate([cbar * g * i * (1 - i), cbar * c_prev * f * (1 - f),
                           dh * cache.tanh_c * o * (1 - o), cbar * i * (1 - g**2)], axis=1)

    def f_z(x):
        (h2, c2), _ = controller.lstm_gates_forward(x, c_prev)
        return np.concatenate([h2.ravel(), c2.ravel()])

    assert rel_error(zbar, fd(f_z, z, d)) < TOL


def test_affine_rules():
    """The affine layer: x_bar = out_bar W^T, W_bar = x^T out_bar, b_bar = sum_n out_bar_n;
    the feed-forward controller's z_bar = h_bar (1 - h^2)."""
    rng = rng_()
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    d = rng.standard_normal((4, 2))
    assert rel_error(d @ W.T, fd(lambda v: v @ W + b, x, d)) < TOL
    assert rel_error(x.T @ d, fd(lambda v: x @ v + b, W, d)) < TOL
    assert rel_error(d.sum(axis=0), fd(lambda v: x @ W + v, b, d)) < TOL
    h = np.tanh(x @ W + b)
    assert rel_error(d * (1 - h * h), fd(np.tanh, x @ W + b, d)) < TOL


# ---- the loss -----------------------------------------------------------------------------
def _bce(z, y):
    return -y * np.log(sigmoid(z)) - (1 - y) * np.log(1 - sigmoid(z))


@formula("loss.1")
def loss_bce():
    """The loss: bce = y log(1+e^-z) + (1-y)(z + log(1+e^-z)) = (1-y) z + log(1+e^-z);
    and the overflow-free form max(z, 0) - z y + log(1 + e^-|z|)."""
    z = np.linspace(-4, 4, 9)
    y = np.linspace(0, 1, 9)
    ref = _bce(z, y)
    assert np.allclose(y * np.log1p(np.exp(-z)) + (1 - y) * (z + np.log1p(np.exp(-z))), ref)
    assert np.allclose((1 - y) * z + np.log1p(np.exp(-z)), ref)
    assert np.allclose(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), ref)


@formula("loss.2")
def loss_bce_derivative():
    """The loss: d bce / dz = (1 - y) - e^-z/(1 + e^-z) = sigma(z) - y."""
    z, y = np.linspace(-4, 4, 9), np.linspace(0, 1, 9)
    num = fd(lambda v: _bce(v, y), z, np.ones(9))
    assert rel_error((1 - y) - np.exp(-z) / (1 + np.exp(-z)), num) < TOL
    assert rel_error(sigmoid(z) - y, num) < TOL


@formula("loss.3")
def loss_masked():
    """The loss: dL/dz = m (sigma(z) - y) / B; and dL/dy = -m z / B."""
    rng = rng_()
    T, B, Y = 3, 2, 4
    z, y = rng.standard_normal((T, B, Y)), rng.uniform(size=(T, B, Y))
    m = (rng.uniform(size=(T, B)) > 0.4).astype(float)
    f = lambda v: losses.sigmoid_cross_entropy_forward(v, y, m)[0]  # noqa: E731
    num = fd(f, z, np.array(1.0))
    assert rel_error(m[..., None] * (sigmoid(z) - y) / B, num) < TOL
    num_y = fd(lambda v: losses.sigmoid_cross_entropy_forward(z, v, m)[0], y, np.array(1.0))
    assert rel_error(-m[..., None] * z / B, num_y) < TOL


# ---- backpropagation through time -------------------------------------------------------------
@formula("bptt.1")
def bptt_memory():
    """BPTT, one step backward, step 4: the gradient of M_{t-1} from the K heads' content
    addressing (both terms of the cosine, with d_bar_k = K_bar_k / (n_u n_vk)) and the R reads,
    on top of the writes' part."""
    rng = rng_()
    B, N, M, K, R = 1, 5, 3, 3, 2
    mem = rng.standard_normal((B, N, M))
    keys = rng.standard_normal((K, B, M))
    betas = rng.uniform(0.5, 3, size=(K, B, 1))
    w_reads = rng.dirichlet(np.ones(N), size=(R, B))
    dw_c = rng.standard_normal((K, B, N))
    dr = rng.standard_normal((R, B, M))
    dM_writes = rng.standard_normal((B, N, M))

    def consumers(x):
        out = [addressing.content_weighting_forward(x, keys[k], betas[k])[0] for k in range(K)]
        out += [memory.read_forward(x, w_reads[r])[0] for r in range(R)]
        return np.concatenate([o.ravel() for o in out])

    d = np.concatenate([dw_c.ravel(), dr.ravel()])
    num = fd(consumers, mem, d) + dM_writes
    # the formula of the page
    nu = np.sqrt((mem[0] ** 2).sum(axis=1) + NORM_EPS)  # (N,)
    total = dM_writes[0].copy()
    for k in range(K):
        w, cache = addressing.content_weighting_forward(mem, keys[k], betas[k])
        Kk = cache.cosine.K[0]
        zbar = w[0] * (dw_c[k, 0] - dw_c[k, 0] @ w[0])
        Kbar = betas[k, 0, 0] * zbar
        nv = np.sqrt(keys[k, 0] @ keys[k, 0] + NORM_EPS)
        dbar = Kbar / (nu * nv)
        for i in range(N):
            total[i] += dbar[i] * keys[k, 0] - Kbar[i] * Kk[i] / nu[i] ** 2 * mem[0, i]
    for r in range(R):
        total += np.outer(w_reads[r, 0], dr[r, 0])
    assert rel_error(total, num[0]) < TOL


# ---- gradient checking ----------------------------------------------------------------------
@formula("check.1")
def central_difference():
    """Gradient checking: the central difference of phi = sum f(x) d, error O(h^2)."""
    rng = rng_()
    x, d = rng.standard_normal(4), rng.standard_normal(4)
    f = np.sin
    exact = np.cos(x) * d
    h = 1e-3
    est = np.array([((f(x + h * e) - f(x - h * e)) * d).sum() / (2 * h) for e in np.eye(4)])
    assert np.allclose(est, numerical_gradient(f, x, d, h=h), rtol=1e-12)
    err3 = np.abs(est - exact).max()
    h = 1e-4
    est4 = numerical_gradient(f, x, d, h=h)
    assert 50 < err3 / np.abs(est4 - exact).max() < 200  # ten times smaller h: 100 times


@formula("check.2")
def shift_sum():
    """Gradient checking: sum_i w~(i) = (sum_j s_j)(sum_n w_g(n)), not 1 whatever the input;
    with d = 1 the true gradients are the constants sum s and sum w_g."""
    rng = rng_()
    w, s = rng.uniform(size=6), rng.uniform(size=3)  # not distributions
    assert np.isclose(_shift(w, s).sum(), s.sum() * w.sum())
    ones = np.ones(6)
    assert rel_error(np.full(6, s.sum()), fd(lambda x: _shift(x, s), w, ones)) < TOL
    assert rel_error(np.full(3, w.sum()), fd(lambda x: _shift(w, x), s, ones)) < TOL
    # while the softmax and the sharpening do sum to one whatever the input
    assert np.isclose(softmax(rng.standard_normal(5)).sum(), 1.0)
    assert np.isclose(_sharpen(rng.uniform(size=5), 2.5).sum(), 1.0)


@formula("check.3")
def relative_error():
    """Gradient checking: rel_error = max|a - b| / max(max|a|, max|b|, floor)."""
    a, b = np.array([1.0, -2.0, 3.0]), np.array([1.0, -2.5, 3.0])
    assert rel_error(a, b) == pytest.approx(0.5 / 3.0)
    assert rel_error(np.zeros(3), np.full(3, 1e-12)) == pytest.approx(1e-12 / 1e-8)


# ---- the page and the tests agree ------------------------------------------------------------
def page_tags():
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"\$\$(.*?)\$\$", text, re.S)
    untagged = [b.strip()[:60] for b in blocks if "\\tag{" not in b]
    tags = [re.search(r"\\tag\{([^}]*)\}", b).group(1) for b in blocks if "\\tag{" in b]
    return tags, untagged


def test_every_display_formula_is_tagged_and_tested():
    tags, untagged = page_tags()
    assert not untagged, f"display formulas without a \\tag: {untagged}"
    assert len(tags) == len(set(tags)), "a tag is used twice"
    assert set(tags) == set(FORMULAS), (
        f"tags without a test: {sorted(set(tags) - set(FORMULAS))}; "
        f"tests without a tag on the page: {sorted(set(FORMULAS) - set(tags))}")


@pytest.mark.parametrize("tag", sorted(FORMULAS))
def test_formula(tag):
    with np.errstate(all="raise", under="ignore"):
        FORMULAS[tag]()

"""Numerical constants, named once and imported wherever they are used (tests included)."""

#: Added inside the square root of every vector norm in cosine similarity (eq 6):
#: ``||u|| = sqrt(u . u + NORM_EPS)``. Keeps K and its gradient finite when a memory
#: row or a key is all zeros (the paper's plain norm is not differentiable at 0).
NORM_EPS = 1e-8

#: Added to the normaliser of the sharpening step (eq 9) so that a weighting whose
#: entries all underflow to 0 under ``w**gamma`` does not divide by zero.
SHARPEN_EPS = 1e-12

#: Value every memory cell starts from when ``memory_init="constant"``
#: (Collier & Beel 2018 found a small constant converges fastest).
MEMORY_INIT_CONSTANT = 1e-6

#: Standard deviation of the fixed random initial memory, ``memory_init="random"``.
MEMORY_INIT_RANDOM_STD = 0.5

#: Element-wise gradient clipping bound used by the paper's experiments (section 4).
CLIP_VALUE = 10.0

#: Initial bias of the LSTM forget gate (a common choice that helps long-range memory).
FORGET_BIAS = 1.0

#: Step used by :func:`ntm_numpy.gradcheck.numerical_gradient` by default.
GRADCHECK_STEP = 1e-6

#: Floor of the denominator in :func:`ntm_numpy.gradcheck.rel_error`.
REL_ERROR_FLOOR = 1e-8

#: RMSProp defaults, Graves 2013 ("Generating Sequences With Recurrent Neural Networks",
#: section 4, eqs 38-41): decay aleph = 0.95, momentum beth = 0.9, learning rate
#: gimel = 1e-4, stabiliser daleth = 1e-4 (added inside the square root). The NTM paper
#: (section 4) trains with RMSProp, momentum 0.9 and learning rate 1e-4.
RMSPROP_LR = 1e-4
RMSPROP_DECAY = 0.95
RMSPROP_MOMENTUM = 0.9
RMSPROP_EPS = 1e-4

#: Adam defaults, of the :class:`ntm_numpy.optim.Adam` class and of training alike. The
#: betas are Kingma & Ba's (2015, Algorithm 1). The learning rate is 2e-3, not their
#: 1e-3: on the copy task, seeds that sat on the loss plateau for more than 5000 updates
#: at 1e-3 converged within 1500 at 2e-3. Epsilon is 1e-4, not their 1e-8: once the copy
#: task is learnt, some parameters' gradients are tiny (the initial-weighting logits'
#: about 1e-7) and Adam's steps, lr * m / sqrt(v), stay full-sized for them whatever the
#: gradient; with 1e-8 the default copy run relapsed after converging (up to 19 bit
#: errors, ending at 0.36), with 1e-4 steps shrink with the gradient below that scale and
#: it stays converged (docs/results/copy.md).
ADAM_LR = 2e-3
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-4

#: Logit of row 0 in every head's initial weighting logits (all other rows 0): the
#: heads start focused on one row (about 96% of the weight with N = 128), which gives
#: location-based addressing (shift, eq 8) a place to start from. The logits are learned.
INIT_WEIGHTING_LOGIT = 8.0

#: Initial biases of every write head with ``head_init="write_forward"`` (the
#: :class:`ntm_numpy.model.NTM` option): the interpolation gate g (eq 7) starts at
#: sigmoid(-3) = 0.05, so the previous weighting, not the content one, carries on; the
#: shift logit of offset +1 (eq 8) starts 2 above the others (0.79 of the shift with
#: S = 3); gamma = 1 + softplus(1) = 2.3 (eq 9) keeps the shifted weighting sharp. Such
#: a head starts by walking one row forward per step, writing consecutive rows, which
#: most of the paper's tasks use. LANTM (Yang & Rush 2017) starts its write gate at -10
#: for the same reason; the values here are the ones screened (docs/results/).
WRITE_FORWARD_GATE_BIAS = -3.0
WRITE_FORWARD_SHIFT_BIAS = 2.0
WRITE_FORWARD_GAMMA_BIAS = 1.0

#: Upper bound on the values (parameters plus initial memory) of one model, checked
#: before a model is built, from the command line, a config or a checkpoint: 2**28
#: values are 1 GiB in float32, several thousand times the paper's models, so a typo
#: such as ``memory_rows=10**12`` is a message instead of an out-of-memory error.
MAX_MODEL_VALUES = 2**28

#: Upper bound on the characters of a checkpoint's JSON header (config, metadata and
#: training history); checked from the member's .npy header before it is read.
MAX_CHECKPOINT_HEADER_CHARS = 2**26

#: Upper bound on the size of a checkpoint file, in bytes, checked before anything is
#: read: 4 GiB, several thousand times the largest shipped model (priority sort, under
#: 1 MiB), and room for any model within :data:`MAX_MODEL_VALUES` with its optimiser's
#: state once compressed.
MAX_CHECKPOINT_BYTES = 2**32

#: Upper bound on how deeply a checkpoint's JSON header may nest (objects in lists in
#: objects ...): the headers written here nest at most 5 deep.
MAX_CHECKPOINT_HEADER_DEPTH = 32

#: The longest sequence a task is evaluated or plotted at (``evaluate``'s lengths, a
#: plot's length): twice the 10,000 steps of the inference benchmark, and far past any
#: length the shipped models were trained on; longer is refused before any work.
MAX_LENGTH = 20_000

"""Checked questions and forward-pass exercises of the course notebooks.

Every notebook asks at least two questions; each is answered in a cell and checked by
:func:`answer`::

    >>> from ntm_numpy.course.questions import answer
    >>> print(answer("01.2", 241))
    01.2: right

A question's expected answer is never stored: it is computed from the package when the
answer is checked (the task that defines the sequence, the shipped model, the capstone's
model). An answer is a value (a number, a set of names) or, for the forward exercises, a
function the student wrote, checked against the package's forward on random inputs and
edge cases (:func:`ntm_numpy.course.exercises.check_forward`). ``None`` means "not answered
yet"; a function that raises ``NotImplementedError`` is "not implemented yet".

:data:`QUESTIONS` lists them by notebook; :func:`ask` prints one.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..gradcheck import rel_error
from .exercises import check_forward

__all__ = ["QUESTIONS", "Question", "AnswerResult", "answer", "ask"]


@dataclass(frozen=True)
class Question:
    """One checked question: ``qid`` is ``"<notebook>.<k>"``; ``judge(value)`` returns
    ``(right, message)``; ``hint`` says where to look when the answer is wrong."""

    qid: str
    prompt: str
    judge: Callable
    hint: str


@dataclass
class AnswerResult:
    """What :func:`answer` found: ``status`` is "right", "wrong", "not answered" or
    "not implemented"; ``message`` says why (prints as one line)."""

    qid: str
    status: str  # "right", "wrong", "not answered", "not implemented"
    message: str = ""

    @property
    def right(self):
        """True when the answer is right."""
        return self.status == "right"

    passed = right

    def __bool__(self):
        return self.right

    def __str__(self):
        if self.status == "right":
            return f"{self.qid}: right" + (f" ({self.message})" if self.message else "")
        if self.status == "not answered":
            return f"{self.qid}: not answered yet (replace None with your answer)"
        if self.status == "not implemented":
            return f"{self.qid}: not implemented yet ({self.message})"
        return f"{self.qid}: not yet — {self.message}"


# ----------------------------------------------------------------------------------------
# Judges
# ----------------------------------------------------------------------------------------
def _number(expected_fn, what):
    def judge(value):
        expected = expected_fn()
        try:
            ok = float(value) == float(expected)
        except (TypeError, ValueError):
            return False, f"expected a number ({what}), got {type(value).__name__}"
        return ok, "" if ok else f"{value!r} is not {what}"
    return judge


def _name_set(expected_fn, choices, what):
    def judge(value):
        if isinstance(value, str):
            value = {value}
        try:
            got = set(value)
        except TypeError:
            return False, f"expected a set of names among {sorted(choices)}"
        unknown = got - set(choices)
        if unknown:
            return False, f"unknown names {sorted(unknown)}; choose among {sorted(choices)}"
        expected = set(expected_fn())
        if got == expected:
            return True, ""
        return False, f"{what}: {len(got & expected)} of your {len(got)} names are right, " \
                      f"and {len(expected - got)} are missing"
    return judge


def _forward(name):
    def judge(fn):
        res = check_forward(name, fn)
        if res.status == "not implemented":
            raise NotImplementedError(res.message)
        return res.passed, str(res)
    return judge


def _function(reference, make_inputs, what):
    """Compare a student's function with the package's ``reference`` on a few inputs."""
    def judge(fn):
        rng = np.random.default_rng(0)
        for trial in range(3):
            args = make_inputs(rng, trial)
            want = reference(*args)
            try:
                with np.errstate(all="ignore"):
                    got = fn(*(np.copy(a) for a in args))
            except NotImplementedError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                return False, f"raised {type(exc).__name__}: {exc}"
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                return False, f"returned {type(got).__name__}, expected {what}"
            if got.shape != np.shape(want) or not np.all(np.isfinite(got)) or \
                    rel_error(got, want) > 1e-9:
                return False, (f"{what} differs from the package's on trial {trial + 1}: "
                               f"yours {np.round(got, 4)}, the package's {np.round(want, 4)}")
        return True, f"{what} agrees with the package's on 3 random batches"
    return judge


def _sequence_inputs(rng, trial):
    T, B, Y = 5, 2 + trial, 4
    logits = 3 * rng.standard_normal((T, B, Y))
    y = (rng.uniform(size=(T, B, Y)) > 0.5).astype(float)
    mask = np.zeros((T, B))
    mask[2:] = 1.0
    return logits, y, mask


def _bit_errors_ref(logits, y, mask):
    from ..tasks import bit_errors_per_sequence

    return bit_errors_per_sequence(logits, y, mask)


def _loss_ref(logits, y, mask):
    from ..losses import sigmoid_cross_entropy_forward

    return sigmoid_cross_entropy_forward(logits, y, mask)[0]


# ----------------------------------------------------------------------------------------
# What the answers are computed from
# ----------------------------------------------------------------------------------------
def _copy_T(L):
    from ..tasks import get_task

    x, _, _ = get_task("copy").batch(np.random.default_rng(0), 1, length=L)
    return x.shape[0]


def _shipped_copy_trace():
    """The sequence of notebook 06: the shipped copy model on length 20, seed 11."""
    from ..pretrained import load_pretrained
    from ..tasks import get_task

    model = load_pretrained("copy")
    x, _, _ = get_task("copy").batch(np.random.default_rng(11), 1, length=20)
    return model, model.forward(x)[1].trace()


def _write_row_at_0():
    model, trace = _shipped_copy_trace()
    return int(trace.write_weights[0, 0, 0].argmax())


def _write_shift_in_input():
    model, trace = _shipped_copy_trace()
    R = model.config["read_heads"]
    S = trace.shift.shape[-1]
    counts = np.bincount(trace.shift[:20, R, 0].argmax(axis=1), minlength=S)
    return int(counts.argmax()) - S // 2


def _repeat_copy_T():
    from ..tasks import get_task

    x, _, _ = get_task("repeat_copy").batch(np.random.default_rng(0), 1, length=5, repeats=4)
    return x.shape[0]


def _recall_T():
    from ..tasks import get_task

    x, _, _ = get_task("associative_recall").batch(np.random.default_rng(0), 1, length=6)
    return x.shape[0]


def _capstone_run():
    from . import capstone

    model = capstone.tiny_model()
    calls = {"write_backward": 0}
    package = model.ops["write_backward"]

    def counting(*args):
        calls["write_backward"] += 1
        return package(*args)

    model.ops["write_backward"] = counting
    x, dlogits = capstone._sequence(0)
    logits, cache = model.forward(x)
    _, carried = model.backward(dlogits, cache, return_carried=True)
    return carried, calls["write_backward"]


def _zero_at_last_step():
    carried, _ = _capstone_run()
    return {k for k, v in carried[-1].items() if not np.any(v)}


def _write_backward_calls():
    return _capstone_run()[1]


_CARRIED = ("memory", "weighting", "read", "controller", "cell")

_LIST = (
    Question("01.1", "The copy task with 8-bit vectors and L = 20: how many bits must the "
             "network hold between reading the sequence and writing it back?",
             _number(lambda: 8 * 20, "the number of bits to hold"),
             "each of the L input vectors has 8 bits, and all of them must be kept"),
    Question("01.2", "How many time steps T does a copy sequence of length L = 120 take "
             "(input, delimiter, output)?",
             _number(lambda: _copy_T(120), "T for L = 120"),
             "count the input steps, the delimiter and the output steps (notebook 01, top)"),
    Question("02.1", "Write read_forward(memory, w) -> r, eq (2), with NumPy only.",
             _forward("read"), "r is a weighted sum of the rows: an einsum or a matmul"),
    Question("02.2", "Write write_forward(memory, w, e, a) -> new_memory, eqs (3)-(4).",
             _forward("write"), "erase with the factor 1 - w(i) e, then add w(i) a"),
    Question("03.1", "Write shift_forward(w_g, s) -> w_s, eq (8), for any odd S, S > N "
             "included.", _forward("shift"),
             "column j of s is the offset j - S//2; offset +1 is np.roll(w_g, 1)"),
    Question("03.2", "Write sharpen_forward(w, gamma) -> w_sharp, eq (9); it must stay "
             "finite for exact zeros in w and gamma = 1.", _forward("sharpen"),
             "raise to the power gamma, then normalise each row"),
    Question("05.1", "Write bit_errors_per_sequence(logits, y, mask) -> (B,): the wrong "
             "thresholded bits on the scored steps, per sequence.",
             _function(_bit_errors_ref, _sequence_inputs, "the bit-error count"),
             "a bit is 1 when its logit is positive; count only where the mask is 1"),
    Question("05.2", "Write the loss, masked sigmoid cross-entropy summed over steps and "
             "bits and averaged over the batch: loss(logits, y, mask) -> float.",
             _function(_loss_ref, _sequence_inputs, "the loss"),
             "use log(1 + exp(-|z|)) to stay finite; docs/gradients.md, 'The loss'"),
    Question("06.1", "On this notebook's sequence (seed 11, length 20), which memory row "
             "does the write head focus on at step 0?",
             _number(_write_row_at_0, "the write head's row at step 0"),
             "trace.write_weights[t, head, batch] is the weighting; take its argmax"),
    Question("06.2", "During the input, which shift offset (-1, 0 or +1) does the write "
             "head use at most steps?",
             _number(_write_shift_in_input, "the write head's usual offset"),
             "trace.shift[t, R, 0] is its shift distribution over the offsets -1, 0, +1"),
    Question("07.1", "Repeat copy with L = 5 and R = 4 repeats: how many time steps T?",
             _number(_repeat_copy_T, "T for L = 5, R = 4"),
             "T = L + 1 + R L + 1 (the markdown above the first figure)"),
    Question("07.2", "Associative recall with the default task (items of 3 vectors): how "
             "many time steps T does a list of 6 items take, query and answer included?",
             _number(_recall_T, "T for 6 items"),
             "count a delimiter before every item, the query delimiter, the query item, "
             "the delimiter after it and the answer"),
    Question("08.1", "At the last step, t = T-1, which carried gradients are zero? A set "
             "of names among 'memory', 'weighting', 'read', 'controller', 'cell'.",
             _name_set(_zero_at_last_step, _CARRIED, "the carried gradients zero at T-1"),
             "which quantities of step T-1 does a later step use? There is none"),
    Question("08.2", "How many times does one backward pass of the capstone's model (one "
             "write head) call write_backward on a copy sequence of length 4?",
             _number(_write_backward_calls, "the number of calls"),
             "once per write head and step; a copy sequence of length L has 2L + 1 steps"),
)

#: The questions by id, in notebook order.
QUESTIONS = {q.qid: q for q in _LIST}


def _get(qid):
    try:
        return QUESTIONS[qid]
    except (KeyError, TypeError):
        raise ValueError(f"qid: expected one of {', '.join(QUESTIONS)}, got {qid!r}") from None


def ask(qid):
    """The question ``qid`` as text."""
    q = _get(qid)
    return f"{q.qid}: {q.prompt}"


def answer(qid, value):
    """Check the answer ``value`` to question ``qid``. Never raises because of the
    answer; returns an :class:`AnswerResult` (prints as one line)."""
    q = _get(qid)
    if value is None:
        return AnswerResult(qid, "not answered")
    try:
        right, message = q.judge(value)
    except NotImplementedError as exc:
        return AnswerResult(qid, "not implemented",
                            str(exc) or "replace `raise NotImplementedError` with your code")
    if right:
        return AnswerResult(qid, "right", "" if not callable(value) else message)
    return AnswerResult(qid, "wrong", (message + "; " if message else "") + "hint: " + q.hint)

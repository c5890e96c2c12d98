"""Checked questions and forward-pass exercises of the course notebooks.

Every notebook asks at least two questions; each is answered in a cell and checked by
:func:`answer`::

    >>> from ntm_numpy.course.questions import answer
    >>> print(answer("01.2", None))
    01.2: not answered yet (replace None with your answer)

A question's expected answer is never stored, in this module or anywhere in the
package: it is computed from the package when the answer is checked (the task that
defines the sequence, the shipped model, the capstone's model). An answer is a value (a
number, a set of names) or, for the forward exercises, a function the student wrote,
checked against the package's function on random inputs and edge cases
(:func:`ntm_numpy.course.exercises.check_forward`); a function that runs the package's
own (however it reaches it, or a copy of its code) is refused
(:mod:`ntm_numpy.course.refusal`). ``None`` means "not answered yet"; a function that
raises ``NotImplementedError`` is "not implemented yet".

:data:`QUESTIONS` lists them by notebook; :func:`ask` prints one; :func:`hidden_options`
gives the other sizes and seed the instructor edition's hidden tests check a function
answer with.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..gradcheck import rel_error
from ..losses import sigmoid_cross_entropy_forward
from ..tasks import get_task
from ..tasks.scoring import bit_errors_per_sequence
from .exercise_table import other_cases
from .exercises import check_forward
from .refusal import RefusedSolution, forbid, refusal_message

__all__ = ["QUESTIONS", "Question", "AnswerResult", "answer", "ask", "hidden_options"]

#: The keyword options :func:`answer` passes to the judge of a function answer.
FUNCTION_OPTIONS = ("seed", "trials", "sizes")


@dataclass(frozen=True)
class Question:
    """One checked question: ``qid`` is ``"<notebook>.<k>"``; ``judge(value, **options)``
    returns ``(right, message)``; ``hint`` says where to look when the answer is wrong;
    ``takes_function`` is True when the answer is a function (then ``options`` are
    ``seed``, ``trials`` and ``sizes``)."""

    qid: str
    prompt: str
    judge: Callable
    hint: str
    takes_function: bool = False


@dataclass
class AnswerResult:
    """What :func:`answer` found: ``status`` is "right", "wrong", "not answered", "not
    implemented" or "refused" (a function that runs the package's own); ``message`` says
    why (prints as one line)."""

    qid: str
    status: str  # "right", "wrong", "not answered", "not implemented", "refused"
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


class _Refused(Exception):
    """A function answer that runs the package's own function: the verdict's text."""


def _forward(name):
    def judge(fn, **options):
        res = check_forward(name, fn, **options)
        if res.status == "not implemented":
            raise NotImplementedError(res.message)
        if res.status == "refused":
            raise _Refused(str(res))
        return res.passed, str(res)
    judge.exercise = name
    return judge


#: The size cases of the sequence functions (05.1, 05.2): T steps, B sequences, Y bits.
_SEQUENCE_CASES = ({"T": 5, "B": 2, "Y": 4}, {"T": 5, "B": 3, "Y": 4}, {"T": 5, "B": 4, "Y": 4})


def _sequence_cases(sizes):
    if sizes is None:
        return _SEQUENCE_CASES
    sizes = [sizes] if isinstance(sizes, dict) else list(sizes)
    for case in sizes:
        if not isinstance(case, dict) or sorted(case) != ["B", "T", "Y"] or any(
                isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                for v in case.values()):
            raise ValueError(f"sizes: expected dicts of integers >= 1 with the keys "
                             f"['B', 'T', 'Y'], got {case!r}")
    if not sizes:
        raise ValueError("sizes: expected at least one dict with the keys ['B', 'T', 'Y']")
    return tuple(sizes)


def _sequence_inputs(rng, T, B, Y):
    logits = 3 * rng.standard_normal((T, B, Y))
    y = (rng.uniform(size=(T, B, Y)) > 0.5).astype(float)
    mask = np.zeros((T, B))
    mask[T // 2:] = 1.0
    return logits, y, mask


def _sequence_edges(rng, T, B, Y):
    """Logits at exactly 0 and far out (|z| in the hundreds), and a sequence with no
    scored step."""
    logits, y, mask = _sequence_inputs(rng, T, B, Y)
    logits = np.round(logits)  # exact zeros
    logits.reshape(-1)[:: 3] *= 250.0
    mask[:, 0] = 0.0
    return logits, y, mask


def _function(reference, refused, what):
    """Compare a student's function with the package's ``reference`` on random batches
    and an edge case; ``refused()`` lists the package functions the student's may not run."""
    def judge(fn, seed=0, trials=3, sizes=None):
        if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
            raise ValueError(f"trials: expected an integer >= 1, got {trials!r}")
        cases = _sequence_cases(sizes)
        rng = np.random.default_rng(seed)
        runs = [(f"trial {t + 1}", _sequence_inputs(rng, **cases[t % len(cases)]))
                for t in range(int(trials))]
        runs.append(("the edge case (logits at 0 and in the hundreds, a sequence with no "
                     "scored step)", _sequence_edges(rng, **cases[0])))
        for label, args in runs:
            want = reference(*args)
            try:
                with forbid(refused(), fn), np.errstate(all="ignore"):
                    got = fn(*(np.copy(a) for a in args))
            except NotImplementedError:
                raise
            except RefusedSolution as exc:
                raise _Refused(refusal_message(exc.qualname, getattr(fn, "__name__", "it"))) \
                    from None
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                return False, f"raised {type(exc).__name__}: {exc}"
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                return False, f"returned {type(got).__name__}, expected {what}"
            if got.shape != np.shape(want) or not np.all(np.isfinite(got)) or \
                    rel_error(got, want) > 1e-9:
                return False, (f"{what} differs from the package's on {label}: "
                               f"yours {np.round(got, 4)}, the package's {np.round(want, 4)}")
        return True, (f"{what} agrees with the package's on {int(trials)} random batches "
                      "and an edge case")
    return judge


def _loss_ref(logits, y, mask):
    return sigmoid_cross_entropy_forward(logits, y, mask)[0]


# ----------------------------------------------------------------------------------------
# What the answers are computed from
# ----------------------------------------------------------------------------------------
def _bits_to_hold(L, bits):
    """The bits of a copy sequence of length L that are scored when written back."""
    _, y, mask = get_task("copy", bits=bits).batch(np.random.default_rng(0), 1, length=L)
    return int(mask.sum()) * y.shape[-1]


def _copy_T(L):
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
    x, _, _ = get_task("repeat_copy").batch(np.random.default_rng(0), 1, length=5, repeats=4)
    return x.shape[0]


def _recall_T():
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
             _number(lambda: _bits_to_hold(20, bits=8), "the number of bits to hold"),
             "each of the L input vectors has 8 bits, and all of them must be kept"),
    Question("01.2", "How many time steps T does a copy sequence of length L = 120 take "
             "(input, delimiter, output)?",
             _number(lambda: _copy_T(120), "T for L = 120"),
             "count the input steps, the delimiter and the output steps (notebook 01, top)"),
    Question("02.1", "Write read_forward(memory, w) -> r, eq (2), with NumPy only.",
             _forward("read"), "r is a weighted sum of the rows: an einsum or a matmul", True),
    Question("02.2", "Write write_forward(memory, w, e, a) -> new_memory, eqs (3)-(4).",
             _forward("write"), "erase with the factor 1 - w(i) e, then add w(i) a", True),
    Question("03.1", "Write shift_forward(w_g, s) -> w_s, eq (8), for any odd S, S > N "
             "included.", _forward("shift"),
             "column j of s is the offset j - S//2; offset +1 is np.roll(w_g, 1)", True),
    Question("03.2", "Write sharpen_forward(w, gamma) -> w_sharp, eq (9); it must stay "
             "finite for exact zeros in w and gamma = 1.", _forward("sharpen"),
             "raise to the power gamma, then normalise each row", True),
    Question("05.1", "Write bit_errors_per_sequence(logits, y, mask) -> (B,): the wrong "
             "thresholded bits on the scored steps, per sequence.",
             _function(bit_errors_per_sequence, lambda: [bit_errors_per_sequence],
                       "the bit-error count"),
             "a bit is 1 when its logit is positive; count only where the mask is 1", True),
    Question("05.2", "Write the loss, masked sigmoid cross-entropy summed over steps and "
             "bits and averaged over the batch: loss(logits, y, mask) -> float.",
             _function(_loss_ref, lambda: [sigmoid_cross_entropy_forward], "the loss"),
             "use log(1 + exp(-|z|)) to stay finite; docs/gradients.md, 'The loss'", True),
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
             "count the input, its end marker, the R repeats of the output and their end "
             "marker (the markdown above the first figure)"),
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
             "which primitives does one step's backward call (ntm_numpy/reference_step.py), "
             "and how many steps has a copy sequence of length 4 (notebook 01)?"),
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


def hidden_options(qid, seed):
    """The options of a check the student has not seen, for a function answer: another
    ``seed`` and other ``sizes`` (drawn from ``seed``), as keywords of :func:`answer`.
    ``{}`` for a value answer, whose check has one right value."""
    q = _get(qid)
    if not q.takes_function:
        return {}
    rng = np.random.default_rng(seed)
    other = int(rng.integers(1, 2**31))
    name = getattr(q.judge, "exercise", None)
    if name is not None:  # a forward of notebook 04's table
        return {"seed": other, "sizes": [dict(c) for c in other_cases(name, other)]}
    sizes = [{"T": int(rng.integers(1, 9)), "B": int(rng.integers(1, 5)),
              "Y": int(rng.integers(1, 7))} for _ in range(2)] + [{"T": 1, "B": 1, "Y": 1}]
    return {"seed": other, "sizes": sizes}


def answer(qid, value, **options):
    """Check the answer ``value`` to question ``qid``. Never raises because of the
    answer; returns an :class:`AnswerResult` (prints as one line).

    A function answer accepts the options ``seed``, ``trials`` and ``sizes`` (other size
    cases, as :func:`ntm_numpy.course.exercises.check` takes them); a value answer none.
    """
    q = _get(qid)
    unknown = sorted(set(options) - set(FUNCTION_OPTIONS if q.takes_function else ()))
    if unknown:
        raise TypeError(f"answer({qid!r}): unexpected options {unknown}"
                        + (f"; expected among {list(FUNCTION_OPTIONS)}" if q.takes_function
                           else "; the answer is a value, checked without options"))
    if value is None:
        return AnswerResult(qid, "not answered")
    try:
        right, message = q.judge(value, **options)
    except NotImplementedError as exc:
        return AnswerResult(qid, "not implemented",
                            str(exc) or "replace `raise NotImplementedError` with your code")
    except _Refused as exc:
        return AnswerResult(qid, "refused", str(exc))
    if right:
        return AnswerResult(qid, "right", "" if not callable(value) else message)
    return AnswerResult(qid, "wrong", (message + "; " if message else "") + "hint: " + q.hint)

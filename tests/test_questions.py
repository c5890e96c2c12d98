"""Tests of the checked questions, ``ntm_numpy.course.questions``: each accepts a right answer
(derived here independently of the checker, or the instructor's in
``tests/exercise_solutions.py``) and rejects a wrong one; blanks and malformed answers
get clear messages."""
import re

import numpy as np
import pytest

from ntm_numpy import load_pretrained
from ntm_numpy.course.questions import QUESTIONS, answer, ask
from ntm_numpy.tasks import get_task

import exercise_solutions as sol

# right and wrong answers; the right ones from the tasks' definitions in docs/tasks.md
VALUES = {
    "01.1": (8 * 20, 20),
    "01.2": (2 * 120 + 1, 240),
    "07.1": (5 + 1 + 4 * 5 + 1, 26),
    "07.2": (6 * (1 + 3) + 1 + 3 + 1 + 3, 6 * 4),
    "08.1": ({"memory", "weighting", "cell"}, {"memory", "read"}),
    "08.2": (9, 4),
}
FUNCTIONS = {
    "02.1": sol.read_forward, "02.2": sol.write_forward, "03.1": sol.shift_forward,
    "03.2": sol.sharpen_forward, "05.1": sol.bit_errors_per_sequence, "05.2": sol.loss,
}


def test_every_notebook_has_two_questions():
    by_notebook = {}
    for qid in QUESTIONS:
        by_notebook.setdefault(qid.split(".")[0], []).append(qid)
    assert all(len(v) >= 2 for v in by_notebook.values())
    assert set(by_notebook) == {"01", "02", "03", "05", "06", "07", "08"}  # 04: exercises
    assert set(VALUES) | set(FUNCTIONS) | {"06.1", "06.2"} == set(QUESTIONS)
    assert set(sol.ANSWERS) == set(QUESTIONS)


@pytest.mark.parametrize("qid", sorted(VALUES))
def test_value_questions(qid):
    right, wrong = VALUES[qid]
    assert str(answer(qid, right)) == f"{qid}: right"
    res = answer(qid, wrong)
    assert not res and res.status == "wrong"
    assert str(res).startswith(f"{qid}: not yet — ") and "hint: " in str(res)
    assert str(answer(qid, None)) == f"{qid}: not answered yet (replace None with your answer)"


def test_questions_on_the_shipped_model():
    model = load_pretrained("copy")
    x, _, _ = get_task("copy").batch(np.random.default_rng(11), 1, length=20)
    trace = model.forward(x)[1].trace()
    row0 = int(trace.write_weights[0, 0, 0].argmax())
    assert answer("06.1", row0) and not answer("06.1", row0 + 1)
    R = model.config["read_heads"]
    offsets = trace.shift[:20, R, 0].argmax(axis=1) - 1
    usual = int(np.bincount(offsets + 1).argmax()) - 1
    assert answer("06.2", usual) and not answer("06.2", -usual if usual else 1)
    assert "expected a number" in str(answer("06.1", "row zero"))


@pytest.mark.parametrize("qid", sorted(FUNCTIONS))
def test_function_questions(qid):
    res = answer(qid, FUNCTIONS[qid])
    assert res.right, str(res)

    def blank(*args):
        raise NotImplementedError

    assert str(answer(qid, blank)).startswith(f"{qid}: not implemented yet")

    def wrong(*args):
        return 1.5 * np.asarray(FUNCTIONS[qid](*args))

    res = answer(qid, wrong)
    assert res.status == "wrong", str(res)


def test_loss_and_score_must_use_the_mask():
    def no_mask_loss(logits, y, mask):
        return sol.loss(logits, y, np.ones_like(mask))

    def no_mask_errors(logits, y, mask):
        return sol.bit_errors_per_sequence(logits, y, np.ones_like(mask))

    assert answer("05.2", no_mask_loss).status == "wrong"
    assert answer("05.1", no_mask_errors).status == "wrong"


def test_ask_and_unknown_ids():
    assert ask("01.1").startswith("01.1: The copy task with 8-bit vectors")
    with pytest.raises(ValueError, match="qid: expected one of 01.1"):
        answer("99.9", 1)
    assert re.fullmatch(r"\d\d\.\d", "08.2")

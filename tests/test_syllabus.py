"""One source for the course's times: each notebook's metadata (``ntm_numpy.course.syllabus``).

The tables of docs/course.md and docs/instructors.md are what the metadata builds, and
no notebook states a time of its own that could disagree with it.
"""
import json
import re
from pathlib import Path

import pytest

from ntm_numpy.course import syllabus

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_notebook_gives_its_time_in_its_metadata():
    books = syllabus.read_syllabus()
    assert [b.path.name for b in books] == [p.name for p in NOTEBOOKS]
    assert [b.number for b in books] == [f"{i:02d}" for i in range(1, 9)]
    for b in books:
        assert b.title and b.prerequisites and b.exercises, b.number
        # the exercises are part of the notebook's time, not on top of it
        assert 0 < b.exercise_minutes <= b.minutes, (b.number, b.exercise_minutes, b.minutes)
    four = books[3]
    assert [e["exercise"].split()[0] for e in four.exercises] == [f"4.{i}" for i in range(1, 9)]
    assert all(e.get("equation") for e in four.exercises)


@pytest.mark.parametrize("page", sorted(syllabus.DOC_TABLES))
def test_the_pages_tables_are_built_from_the_metadata(page):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    built = syllabus.render_page(text, syllabus.DOC_TABLES[page], syllabus.read_syllabus())
    assert text == built, (f"docs/{page} differs from the notebooks' metadata: run "
                           "python -m ntm_numpy.course.syllabus")


def test_the_course_table_holds_each_time_and_the_total():
    books = syllabus.read_syllabus()
    table = syllabus.syllabus_table(books)
    assert "| 04 Gradient checking: write the backward passes | 4 h | 02, 03, the chain rule |" \
        in table
    total = sum(b.minutes for b in books)
    assert f"| in all | {syllabus.format_minutes(total)} (about {round(total / 60)} hours) |" \
        in table
    assert [syllabus.format_minutes(m) for m in (5, 45, 60, 150, 225, 240)] == \
        ["5 min", "45 min", "1 h", "2 h 30 min", "3 h 45 min", "4 h"]


#: what a statement of how long a notebook takes looks like
TIME = re.compile(r"\*Time:\*[^\n]*|\b\d+(?:\.\d+)?\s+(?:hours?|h)\b(?:\s+\d+\s+min\b)?"
                  r"|\b\d+\s+(?:min|minutes)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_states_another_time(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    minutes = nb["metadata"]["ntm_numpy"]["time_minutes"]
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for found in TIME.findall(text):
        # one left in a cell must say what the metadata says
        hours = re.search(r"(\d+(?:\.\d+)?)\s+hours?", found)
        assert hours and float(hours[1]) * 60 == minutes, (path.name, found, minutes)


def test_a_page_without_its_block_is_refused():
    with pytest.raises(ValueError, match="syllabus:times"):
        syllabus.render_page("no table here", {"times": syllabus.syllabus_table}, [])

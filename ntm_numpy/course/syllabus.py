"""The syllabus of the course, built from the notebooks' own metadata.

Each notebook of ``notebooks/`` holds, in ``metadata["ntm_numpy"]``, what the syllabus
says of it, and nothing else states it:

* ``title`` - its short title;
* ``time_minutes`` - the time it takes a student, reading and exercises, in minutes;
* ``prerequisites`` - the notebooks (or knowledge) it builds on;
* ``exercises`` - its exercises and questions with the time each takes, a list of
  ``{"exercise": label, "minutes": m}`` (and ``"equation"`` for notebook 04's).

The tables of ``docs/course.md`` (the time and prerequisites of each notebook; the
exercises of notebook 04) and of ``docs/instructors.md`` (the time of the exercises) are
generated from it, between ``<!-- syllabus:NAME -->`` and ``<!-- /syllabus:NAME -->``
lines: after a change of the metadata, ``python -m ntm_numpy.course.syllabus`` rewrites
them (from a clone of the repository), and ``tests/test_syllabus.py`` checks that the
pages hold what the metadata gives.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Notebook", "read_syllabus", "format_minutes", "syllabus_table",
           "exercises_table", "exercise_times_table", "DOC_TABLES", "METADATA_KEY",
           "render_page", "write_pages"]

_REPO = Path(__file__).resolve().parents[2]  # ntm_numpy/course/syllabus.py -> the clone

#: The metadata key of the course in a notebook's metadata.
METADATA_KEY = "ntm_numpy"


@dataclass(frozen=True)
class Notebook:
    """What the syllabus says of one notebook, read from its metadata.

    Attributes
    ----------
    number : str, ``"01"`` to ``"08"``, the start of the file's name
    path : Path of the notebook
    title : str, its short title
    minutes : int, the time it takes, reading and exercises
    prerequisites : str
    exercises : tuple of dicts ``{"exercise": str, "minutes": int}`` (and ``"equation"``)
    """

    number: str
    path: Path
    title: str
    minutes: int
    prerequisites: str
    exercises: tuple

    @property
    def exercise_minutes(self):
        """The time of its exercises and questions, in minutes."""
        return sum(e["minutes"] for e in self.exercises)


def read_syllabus(source=None):
    """The course's notebooks, in order, as :class:`Notebook` entries.

    Parameters
    ----------
    source : folder of the notebooks (default: the ``notebooks/`` folder of the clone)

    Returns
    -------
    list of Notebook

    Raises
    ------
    ValueError
        A notebook without its ``metadata["ntm_numpy"]`` entries, or with a time that is
        not a positive whole number of minutes.
    """
    folder = Path(source) if source is not None else _REPO / "notebooks"
    books = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"].get(METADATA_KEY, {})
        missing = [k for k in ("title", "time_minutes", "prerequisites", "exercises")
                   if k not in meta]
        if missing:
            raise ValueError(f"{path.name}: metadata[{METADATA_KEY!r}] has no {missing}")
        times = [meta["time_minutes"]] + [e.get("minutes") for e in meta["exercises"]]
        if not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in times):
            raise ValueError(f"{path.name}: expected times in whole minutes > 0, got {times}")
        books.append(Notebook(path.name[:2], path, meta["title"], meta["time_minutes"],
                              meta["prerequisites"], tuple(meta["exercises"])))
    if not books:
        raise ValueError(f"source: no course notebooks (NN_name.ipynb) in {folder}")
    return books


def format_minutes(minutes):
    """``45`` -> ``"45 min"``, ``60`` -> ``"1 h"``, ``225`` -> ``"3 h 45 min"``."""
    h, m = divmod(int(minutes), 60)
    return " ".join(([f"{h} h"] if h else []) + ([f"{m} min"] if m or not h else []))


def syllabus_table(books):
    """The table of ``docs/course.md``: each notebook's time and prerequisites, and the
    total (markdown)."""
    total = sum(b.minutes for b in books)
    lines = ["| notebook | time | prerequisites |", "|----------|------|---------------|"]
    lines += [f"| {b.number} {b.title} | {format_minutes(b.minutes)} | {b.prerequisites} |"
              for b in books]
    lines.append(f"| in all | {format_minutes(total)} (about {round(total / 60)} hours) | |")
    return "\n".join(lines)


def exercises_table(books, number="04"):
    """The table of notebook ``number``'s exercises with the equation and time of each
    (markdown)."""
    (book,) = [b for b in books if b.number == number]
    lines = ["| exercise | equation | time |", "|----------|----------|------|"]
    lines += [f"| {e['exercise']} | {e.get('equation', '')} | {format_minutes(e['minutes'])} |"
              for e in book.exercises]
    return "\n".join(lines)


def exercise_times_table(books):
    """The table of ``docs/instructors.md``: the time of each notebook's exercises, beside
    the notebook's whole time (markdown)."""
    lines = ["| notebook | exercises | time on them | the whole notebook |",
             "|----------|-----------|--------------|--------------------|"]
    for b in books:
        if len(b.exercises) == 1:
            what = b.exercises[0]["exercise"]
        else:
            what = "; ".join(f"{e['exercise']} {format_minutes(e['minutes'])}"
                             for e in b.exercises)
        lines.append(f"| {b.number} | {what} | {format_minutes(b.exercise_minutes)} | "
                     f"{format_minutes(b.minutes)} |")
    return "\n".join(lines)


#: The generated tables of each page: page (under ``docs/``) -> {block name: builder}.
DOC_TABLES = {
    "course.md": {"times": syllabus_table, "exercises-04": exercises_table},
    "instructors.md": {"exercise-times": exercise_times_table},
}


def render_page(text, tables, books):
    """``text`` with every ``<!-- syllabus:NAME -->`` ... ``<!-- /syllabus:NAME -->``
    block of ``tables`` (name -> builder) rebuilt from ``books``.

    Raises
    ------
    ValueError
        A block of ``tables`` that the text does not hold exactly once.
    """
    for name, build in tables.items():
        block = re.compile(rf"(<!-- syllabus:{re.escape(name)} [^\n]*-->\n).*?"
                           rf"(<!-- /syllabus:{re.escape(name)} -->)", re.S)
        if len(block.findall(text)) != 1:
            raise ValueError(f"text: expected one block 'syllabus:{name}', got "
                             f"{len(block.findall(text))}")
        table = build(books)
        text = block.sub(lambda m, table=table: f"{m[1]}\n{table}\n\n{m[2]}", text)
    return text


def write_pages(docs=None, source=None):
    """Rewrite the generated tables of the pages of :data:`DOC_TABLES`.

    Parameters
    ----------
    docs : the ``docs/`` folder (default: the clone's)
    source : the notebooks' folder (default: the clone's)

    Returns
    -------
    list of Path, the pages that changed
    """
    docs = Path(docs) if docs is not None else _REPO / "docs"
    books = read_syllabus(source)
    changed = []
    for page, tables in DOC_TABLES.items():
        path = docs / page
        text = path.read_text(encoding="utf-8")
        new = render_page(text, tables, books)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":  # python -m ntm_numpy.course.syllabus
    for path in write_pages():
        print(f"rewrote {path}")

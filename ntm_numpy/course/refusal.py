"""Refusing the package's own answer: a solution may not call the function it replaces.

While a check runs the student's code, :func:`forbid` swaps the package's own function
(e.g. ``ntm_numpy.memory.read_backward`` while ``read_backward`` is checked) for a
sentinel that raises :class:`RefusedSolution`, everywhere the student's code could
reach it: the module that defines it, the package's namespaces, and the globals and
closures of the student's function and of the helpers it calls.
:func:`refusal_message` is the verdict the checks print. The checks of
:mod:`ntm_numpy.course.exercises` and :mod:`ntm_numpy.course.capstone` use them.
"""
import contextlib
import inspect
import sys

__all__ = ["RefusedSolution", "forbid", "refusal_message"]


class RefusedSolution(Exception):
    """Raised inside a check when the solution calls the package's own function."""

    def __init__(self, qualname):
        super().__init__(qualname)
        self.qualname = qualname


def _functions_of(func, depth=3):
    """``func`` and the Python functions it reaches through its globals and closure
    (helpers defined alongside it, e.g. in the same notebook), ``depth`` levels deep."""
    seen = [func]
    frontier = [func]
    for _ in range(depth):
        nxt = []
        for f in frontier:
            code = getattr(f, "__code__", None)
            if code is None:
                continue
            glb = getattr(f, "__globals__", {})
            names = set(code.co_names)
            for const in code.co_consts:
                if inspect.iscode(const):
                    names |= set(const.co_names)
            found = [glb.get(n) for n in names]
            for cell in getattr(f, "__closure__", None) or ():
                try:
                    found.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
            for g in found:
                if inspect.isfunction(g) and g not in seen:
                    seen.append(g)
                    nxt.append(g)
        frontier = nxt
    return seen


@contextlib.contextmanager
def forbid(target, student_func):
    """Replace ``target`` (a package function) by a sentinel that raises
    :class:`RefusedSolution`, wherever the student's code could reach it: the module
    that defines it, the package namespaces, and the globals and closures of the
    student's function and of the helpers it calls."""
    qualname = f"{target.__module__.replace('ntm_numpy.', '')}.{target.__name__}"
    if student_func is target or getattr(student_func, "__wrapped__", None) is target:
        raise RefusedSolution(qualname)

    def sentinel(*args, **kwargs):
        raise RefusedSolution(qualname)

    patched = []  # (dict-like or cell, key, old)
    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if name == "ntm_numpy" or name.startswith("ntm_numpy."):
            for attr, value in list(vars(mod).items()):
                if value is target:
                    patched.append((vars(mod), attr, value))
    for f in _functions_of(student_func):
        glb = getattr(f, "__globals__", None)
        if glb is not None:
            for attr, value in list(glb.items()):
                if value is target:
                    patched.append((glb, attr, value))
        for cell in getattr(f, "__closure__", None) or ():
            try:
                if cell.cell_contents is target:
                    patched.append((cell, None, target))
            except ValueError:  # an empty cell
                pass
    try:
        for where, key, _ in patched:
            if key is None:
                where.cell_contents = sentinel
            else:
                where[key] = sentinel
        yield qualname
    finally:
        for where, key, old in patched:
            if key is None:
                where.cell_contents = old
            else:
                where[key] = old


def refusal_message(qualname, fn):
    """The verdict on function ``fn`` that calls the package's own ``qualname``."""
    return (f"refused — {fn} calls the package's own {qualname}; the exercise is to "
            "write it yourself")


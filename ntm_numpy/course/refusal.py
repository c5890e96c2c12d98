"""Refusing the package's own answer: a solution may not run the function it replaces.

While a check runs a student's function, :func:`forbid` watches every Python function
call (a ``sys.setprofile`` hook, this thread only) and raises :class:`RefusedSolution`
as soon as one of them runs the code of a refused function. It recognises

* the package's function itself, **however it is reached**: by its module
  (``memory.read_backward``), an imported name, a mapping (``reference_step.DEFAULT_OPS``,
  ``model.ops``), a closure, a default argument, an attribute, ``functools.partial``, or
  another package function that calls it (``NTM.backward`` calls every backward op);
* a **copy of its code**: ``types.FunctionType(f.__code__, f.__globals__)``, or the
  function re-created from its source (``exec`` of ``inspect.getsource(f)``), under
  another name or in another module. Code is compared by its bytecode (``co_code``), its
  constants and the names it uses, recursively through nested code objects (lambdas,
  comprehensions; the docstring is a constant: code written independently may compile
  to the same instructions, a copy also carries the docstring); not by identity, names
  of local variables or line numbers, and whether or not CPython has specialised it.

A student's function that catches the exception is refused all the same, and so is one
that removes the hook (``sys.setprofile``) while it runs. Every other function stays
allowed: the forwards (``memory.read_forward``, ...), the activations
(``activations.sigmoid``, ``softmax_forward``, ...), the helpers
(``addressing.shift_indices``, ...) and the backward passes of the *other* operations.

The API: :func:`forbid` (a context manager taking the functions to refuse),
:func:`refusing` (a student's function wrapped so that every call runs under
:func:`forbid`, e.g. for ``model.ops``), :func:`same_code`, :func:`qualname_of` and
:func:`refusal_message` (the verdict the checks print). The checks of
:mod:`ntm_numpy.course.exercises`, :mod:`ntm_numpy.course.questions` and
:mod:`ntm_numpy.course.capstone` use them.

What it cannot catch: a solution retyped or edited from the package's source (a changed
constant, an extra line, another global name), one that computes in another thread or
process, or one that tampers with the interpreter deliberately (restoring the hook after
removing it, ``ctypes``). The package is open source: ``docs/instructors.md`` says what
is prevented and what is not.
"""
import contextlib
import dis
import functools
import inspect
import sys

__all__ = ["RefusedSolution", "forbid", "refusing", "same_code", "qualname_of",
           "refusal_message", "GUARD_REMOVED"]

#: The "qualname" of a refusal because the student's code removed the checker's hook.
GUARD_REMOVED = "sys.setprofile"


class RefusedSolution(Exception):
    """Raised inside a check when the solution runs the package's own function (or a
    copy of its code); ``qualname`` names it, e.g. ``"memory.read_backward"``."""

    def __init__(self, qualname):
        super().__init__(qualname)
        self.qualname = qualname


# ----------------------------------------------------------------------------------------
# Functions and their code
# ----------------------------------------------------------------------------------------
def _function(func):
    """The plain Python function behind ``func`` (a method, a static or class method,
    a partial, a decorated function), or TypeError."""
    seen = 0
    while seen < 20:
        seen += 1
        if isinstance(func, (staticmethod, classmethod)) or inspect.ismethod(func):
            func = func.__func__
        elif isinstance(func, functools.partial):
            func = func.func
        elif hasattr(func, "__wrapped__"):
            func = func.__wrapped__
        else:
            break
    if not inspect.isfunction(func):
        raise TypeError(f"functions: expected Python functions to refuse, got "
                        f"{type(func).__name__}")
    return func


def qualname_of(func):
    """``"<module>.<qualified name>"`` of a package function, without the leading
    ``ntm_numpy.``: ``"memory.read_backward"``, ``"cell.NTMCell.step_backward"``."""
    func = _function(func)
    module = (func.__module__ or "").removeprefix("ntm_numpy.")
    return f"{module}.{func.__qualname__}" if module else func.__qualname__


def _constant(value):
    if inspect.iscode(value):
        return _fingerprint(value)
    if isinstance(value, (tuple, frozenset)):
        items = [_constant(v) for v in value]
        return (type(value).__name__, tuple(sorted(items, key=repr)
                                            if isinstance(value, frozenset) else items))
    return (type(value).__name__, repr(value))


_SKIP = {"CACHE", "EXTENDED_ARG", "NOP"}
# CPython 3.11 specialises a warmed-up ``module.function(...)`` call by rewriting its
# LOAD_METHOD into LOAD_ATTR (and the LOAD_GLOBAL before it), which ``co_code`` keeps:
# both spellings are one instruction here.
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR"}
_LOCAL = set(dis.haslocal) | set(dis.hasfree)
_JUMP = set(dis.hasjrel) | set(dis.hasjabs) | set(getattr(dis, "hasjump", ()))


def _fingerprint(code):
    """What makes two code objects the same code: the bytecode (``co_code``, as
    instructions) with the names it uses, and the constants (``co_consts``, the
    docstring included), nested code objects compared the same way. Not the function's
    name, the names of its local variables, its file or its line numbers. Jumps are
    compared by the instruction they land on, and the spellings of an attribute call
    that CPython's specialisation swaps (``co_code`` changes once a function has run
    often) are one.

    The docstring counts: a few lines written from a derivation can compile to the
    package's very instructions (``read_backward`` is two lines), and only a copy of
    its source carries its docstring along."""
    instructions = list(dis.get_instructions(code))
    index, kept = {}, []
    for ins in instructions:
        index[ins.offset] = len(kept)
        if ins.opname not in _SKIP:
            kept.append(ins)
    out = []
    for ins in kept:
        if ins.opcode in _JUMP:
            arg = ("jump", index.get(ins.argval, ins.argval))
        elif ins.opcode in _LOCAL:
            arg = ("local", ins.arg)
        elif ins.opcode in dis.hasconst:
            arg = ("const", _constant(ins.argval))
        elif ins.opcode in dis.hasname:
            arg = ("name", ins.argval)
        else:
            arg = ("arg", ins.arg)
        out.append((_SAME_OP.get(ins.opname, ins.opname), arg))
    return tuple(out), tuple(_constant(c) for c in code.co_consts)


def same_code(a, b):
    """True when functions ``a`` and ``b`` run the same code (see :func:`forbid`): a clone
    or a copy re-created from the source counts as the same, whatever its name."""
    return _fingerprint(_function(a).__code__) == _fingerprint(_function(b).__code__)


# ----------------------------------------------------------------------------------------
# The hook
# ----------------------------------------------------------------------------------------
class _Guard:
    """The functions one :func:`forbid` refuses, and what it has seen."""

    def __init__(self, functions):
        self.names = {}  # fingerprint -> qualname
        self.used = set()  # co_names of the refused: a cheap first filter
        self.verdicts = {}  # id(code) -> (code, qualname or None); code kept alive
        for f in functions:
            code = _function(f).__code__
            self.names.setdefault(_fingerprint(code), qualname_of(f))
            self.used.add(code.co_names)
        self.hit = None

    def match(self, code):
        """The qualname ``code`` is a copy of, or None."""
        seen = self.verdicts.get(id(code))
        if seen is not None:
            return seen[1]
        name = None
        if code.co_names in self.used:
            name = self.names.get(_fingerprint(code))
        self.verdicts[id(code)] = (code, name)
        return name


_ACTIVE = []  # the guards in force, innermost last


def _hook(frame, event, arg):
    if event != "call":
        return
    code = frame.f_code
    for guard in reversed(_ACTIVE):
        name = guard.match(code)
        if name is not None:
            guard.hit = guard.hit or name
            raise RefusedSolution(name)


def _as_list(functions):
    if callable(functions) or isinstance(functions, (staticmethod, classmethod)):
        return [functions]
    return list(functions)


@contextlib.contextmanager
def forbid(functions, student_func=None):
    """Refuse ``functions`` while the block runs (a student's function, called inside).

    Any call that runs the code of one of ``functions`` (the function however it is
    reached, or a copy of its code; see the module's docstring) raises
    :class:`RefusedSolution` naming it. On leaving the block, :class:`RefusedSolution`
    is raised if such a call happened, even if the student's code caught the exception,
    or if the student's code removed the hook (then its qualname is
    :data:`GUARD_REMOVED`). Blocks nest: an inner block refuses its own functions and
    the outer ones. A profiler running around the block is suspended while it runs.

    Parameters
    ----------
    functions : a function or a list of functions (methods, e.g.
        ``NTMCell.step_backward``, are accepted)
    student_func : optional, the student's function about to be called: refused at
        once when it is one of ``functions``

    Yields
    ------
    tuple of str, the qualnames refused
    """
    guard = _Guard(_as_list(functions))
    if student_func is not None:
        try:
            mine = _function(student_func)
        except TypeError:
            mine = None
        name = guard.match(mine.__code__) if mine is not None else None
        if name is not None:
            raise RefusedSolution(name)
    previous = sys.getprofile()
    _ACTIVE.append(guard)
    sys.setprofile(_hook)
    removed = False
    try:
        yield tuple(dict.fromkeys(guard.names.values()))
    except RefusedSolution:
        if guard.hit is None:  # an inner guard's refusal: not ours to rename
            raise
    finally:
        removed = sys.getprofile() is not _hook
        _ACTIVE.remove(guard)
        if _ACTIVE:
            sys.setprofile(_hook)
        else:
            sys.setprofile(previous if inspect.isfunction(previous)
                           or inspect.ismethod(previous) else None)
        # a refusal some code caught, or the hook removed, refuses all the same
        if guard.hit is not None:
            raise RefusedSolution(guard.hit)
    if removed:
        raise RefusedSolution(GUARD_REMOVED)


def refusing(student_func, functions):
    """``student_func`` wrapped so that every call runs under ``forbid(functions)``.

    For plugging a student's function into code the checker runs itself (e.g. a model's
    ``ops``): the wrapper raises :class:`RefusedSolution` when the student's function
    runs one of ``functions``, while the checker's own calls of them, outside the
    student's function, stay allowed.
    """
    refused = _as_list(functions)

    @functools.wraps(student_func)
    def guarded(*args, **kwargs):
        with forbid(refused, student_func):
            return student_func(*args, **kwargs)

    return guarded


def refusal_message(qualname, fn):
    """The verdict on function ``fn`` that runs the package's own ``qualname``."""
    if qualname == GUARD_REMOVED:
        return (f"refused — {fn} removed the checker's guard ({GUARD_REMOVED}); the "
                "exercise is to write it yourself")
    return (f"refused — {fn} calls the package's own {qualname} (or runs a copy of its "
            "code); the exercise is to write it yourself")

"""The command line of training, generated from the settings of
:class:`~ntm_numpy.training.config.TrainConfig`.

Every setting of a :class:`TrainConfig` section is one option of ``ntm-numpy train``
(and of ``ntm-numpy sweep``, which takes them too), made from its field: the name
(``batch_size`` -> ``--batch-size``), the type, the help and choices of its metadata
(:func:`add_train_options`). The options go back into settings with
:func:`settings_from_args`, and a set of settings becomes a command line with
:func:`render_train_command` (how the shipped models' recipes,
:data:`ntm_numpy.pretrained.PRETRAINED`, are shown). :func:`options_table` is the table
of the options in docs/training.md.

Only the public interface of :mod:`argparse` is used: the options are added with
``add_argument`` (in one argument group per section) and the actions it returns are
kept by the caller; whether an option was given is found by parsing with
``argparse.SUPPRESS`` as every default (``suppress_defaults=True``).

Special fields: a dict (``task_settings``) is a repeatable ``--task-setting KEY=VALUE``
(:func:`parse_settings`); ``clip_norm`` takes 0 for None (no clip); ``implementation``
defaults to ``"fused"`` on the command line (``"reference"`` in Python); the task is
the positional argument; ``lr_start_step`` is set by training and has no option. The
deprecated flags ``--steps`` and ``--step`` are aliases of ``--updates`` and
``--implementation`` that warn (:class:`DeprecationWarning`).
"""
import argparse
import shlex

from .._validation import check_length, check_seed, warn_deprecated
from .config import (
    SECTIONS,
    default_of,
    default_run_settings,
    renamed_settings,
    setting_fields,
    value_type,
)

#: The titles of the sections' groups in ``--help``.
GROUP_TITLES = {"model_section": "model", "task_section": "task",
                "optimizer_section": "optimizer", "schedule_section": "schedule"}


def length_arg(text):
    """argparse type of a sequence length: an integer from 1 to
    :data:`ntm_numpy.constants.MAX_LENGTH`, checked when the command line is parsed."""

    try:
        return check_length("length", int(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).partition(": ")[2] if ": " in str(err)
                                         else f"expected an integer, got {text!r}") from None


def seed_arg(text):
    """argparse type of a seed: an integer from 0 to 2**63 - 1."""

    try:
        return check_seed("seed", int(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).partition(": ")[2] if ": " in str(err)
                                         else f"expected an integer, got {text!r}") from None


def seeds_arg(text):
    """argparse type of a sweep's seeds, e.g. ``0-5`` or ``0,2,7-9``
    (:func:`ntm_numpy.training.sweep.parse_seeds`, which counts a range before it builds
    it), checked when the command line is parsed."""
    from .sweep import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).partition(": ")[2]) from None


def flag_of(f):
    """The option of the setting ``f`` (a dataclass field): ``"--batch-size"``.

    Parameters
    ----------
    f : dataclasses.Field

    Returns
    -------
    str
    """
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))


def deprecated_flag_of(f):
    """The deprecated alias of the option of ``f`` (``"--steps"``), or None.

    Parameters
    ----------
    f : dataclasses.Field

    Returns
    -------
    str or None
    """
    alias = f.metadata.get("alias")
    return None if alias is None else "--" + alias.replace("_", "-")


def cli_default(f):
    """The default of the setting ``f`` on the command line (its field's default, but
    ``"fused"`` for ``implementation``).

    Parameters
    ----------
    f : dataclasses.Field

    Returns
    -------
    object
    """
    return f.metadata["cli_default"] if "cli_default" in f.metadata else default_of(f)


def has_option(f):
    """Whether the setting ``f`` is an option (or the positional task) of the command
    line (not ``lr_start_step``, which training sets).

    Parameters
    ----------
    f : dataclasses.Field

    Returns
    -------
    bool
    """
    return f.metadata.get("cli", True)


def _fields_by_name():
    return {f.name: f for _, f in setting_fields()}


def help_text(f, style="cli"):
    """The help of the setting ``f``, its references ``{name}`` to other settings written
    as options (``style="cli"``: ``--settle-validations``) or as names in Markdown
    (``style="markdown"``: ```settle_validations```).

    Parameters
    ----------
    f : dataclasses.Field
    style : "cli" or "markdown"

    Returns
    -------
    str
    """
    fields = _fields_by_name()
    refs = {name: (flag_of(g) if style == "cli" else f"`{flag_of(g)}`")
            for name, g in fields.items()}
    return f.metadata["help"].format_map(refs)


def _default_words(f):
    """The default of ``f`` in words, for ``--help`` and the table."""
    text = f.metadata.get("default_text")
    if text is not None:
        return text
    value = cli_default(f)
    return "none" if value is None else _word(value)


class _SettingAction(argparse.Action):
    """Stores an option's value (as ``store`` does); given by a deprecated option string
    (``--steps``), it also warns."""

    def __call__(self, parser, namespace, values, option_string=None):
        """Store ``values``; warn if ``option_string`` is not the option's first."""
        if option_string is not None and option_string != self.option_strings[0]:
            warn_deprecated(option_string, self.option_strings[0], stacklevel=4)
        setattr(namespace, self.dest, values)


def add_train_options(parser, *, names=None, suppress_defaults=False):
    """Add the settings of :class:`TrainConfig` to ``parser``, one argument group per
    section: the task as the positional argument, every other setting as an option.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    names : iterable of str, optional
        The settings to add (default: every one that has an option, :func:`has_option`).
    suppress_defaults : bool
        Give every option the default ``argparse.SUPPRESS``, so that the namespace holds
        only the options given (:func:`settings_from_args` with ``given``).

    Returns
    -------
    list of argparse.Action
        The actions added, in order (what ``add_argument`` returned).
    """
    wanted = None if names is None else set(names)
    actions = []
    for section in SECTIONS:
        group = None
        for where, f in setting_fields():
            if where != section or not has_option(f) or (wanted is not None
                                                          and f.name not in wanted):
                continue
            if group is None:
                group = parser.add_argument_group(f"{GROUP_TITLES[section]} settings")
            actions.append(_add_option(group, f, suppress_defaults))
    return actions


def _add_option(group, f, suppress_defaults):
    """Add the setting ``f`` to ``group``; returns the action."""
    kind = value_type(f.type)
    help_ = help_text(f).replace("%", "%%")  # argparse formats the help with %
    if f.metadata.get("positional"):
        return group.add_argument(f.name, choices=f.metadata.get("choices"), help=help_)
    default = argparse.SUPPRESS if suppress_defaults else None
    if kind is dict:  # KEY=VALUE, repeatable
        return group.add_argument(flag_of(f), dest=f.name, action="append", default=default,
                                  metavar=f.metadata.get("metavar"),
                                  help=f"{help_}; {_REPEATABLE} (default: {_default_words(f)})")
    if kind is list:  # a list of dicts, one KEY=VALUE[,KEY=VALUE...] per item, repeatable
        return group.add_argument(flag_of(f), dest=f.name, action="append", default=default,
                                  metavar=f.metadata.get("metavar"),
                                  help=f"{help_}; {_REPEATABLE_LIST} (default: none)")
    flags = [flag_of(f)]
    alias = deprecated_flag_of(f)
    if alias is not None:
        flags.append(alias)
        help_ += f"; {alias} is a deprecated alias"
    if not suppress_defaults:
        default = cli_default(f)
    return group.add_argument(*flags, dest=f.name, type=kind, choices=f.metadata.get("choices"),
                              default=default, action=_SettingAction,
                              help=f"{help_} (default: {_default_words(f)})")


def add_run_options(parser):
    """Add the options of ``ntm-numpy train`` that are not settings of the run: where it
    goes (``--out``, ``--overwrite``), what it continues (``--resume``), its progress
    lines and plots.

    Parameters
    ----------
    parser : argparse.ArgumentParser

    Returns
    -------
    list of argparse.Action
    """
    add = parser.add_argument
    return [
        add("--log-every", type=int, default=50, help="updates between progress lines "
            "(default 50)"),
        add("--out", default=None, help="output directory (default runs/TASK)"),
        add("--resume", default=None, metavar="CHECKPOINT",
            help="continue a run from its checkpoint: --updates (the run's total) extends "
            "it, --lr starts a new schedule from the resume update, and --batch-size, "
            "--lr-schedule, --lr-after-converged, --clip, --clip-norm, --eval-every, "
            "--checkpoint-every, --implementation, --task-setting-after-converged, "
            "--settle-validations, --workers may change; other settings must equal the "
            "checkpoint's"),
        add("--overwrite", "--force", action="store_true",
            help="replace a checkpoint already in the output folder"),
        add("--no-plots", action="store_true", help="do not write plots at the end"),
        add("--lengths", type=length_arg, nargs="+", default=None,
            help="lengths for the final generalisation curve (default: per task)"),
    ]


def add_sweep_options(parser, *, suppress_defaults=False):
    """Add the options of ``ntm-numpy sweep``: its own (seeds, jobs, output, evaluation),
    then the task and every setting of ``train`` but the seed
    (:func:`ntm_numpy.training.sweep.config_fields`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    suppress_defaults : bool
        As for :func:`add_train_options`, for the settings.

    Returns
    -------
    list of argparse.Action
    """
    from .sweep import EVAL_SEQUENCES, config_fields

    add = parser.add_argument
    return [
        add("--seeds", type=seeds_arg, default="0-2",
            help="seeds, e.g. 0-5 or 0,2,7-9 (default 0-2)"),
        add("--jobs", type=int, default=None,
            help="runs at a time (default: the number of cores divided by the "
                 "processes each run takes, --workers)"),
        add("--out", default=None, help="output directory (default runs/sweep_TASK)"),
        add("--lengths", type=length_arg, nargs="+", default=None,
            help="lengths of the generalisation columns (default: per task)"),
        add("--sequences", type=int, default=EVAL_SEQUENCES,
            help=f"sequences per length (default {EVAL_SEQUENCES})"),
        add("--log-every", type=int, default=500,
            help="updates between progress lines of each run (default 500)"),
        add("--scheduler", default=None, metavar="ADDRESS",
            help="run the seeds on a dask.distributed cluster whose scheduler is at "
                 "ADDRESS (e.g. tcp://10.0.0.5:8786; needs the 'cluster' extra, and --out "
                 "on a file system the workers share); default: processes on this machine"),
        *add_train_options(parser, names=["task", *config_fields()],
                           suppress_defaults=suppress_defaults),
    ]


#: What the help of a dict's option adds.
_REPEATABLE = "repeatable, one KEY=VALUE each (values parsed as int, float or text)"
#: What the help of a list's option adds.
_REPEATABLE_LIST = ("repeatable, one item each, in order, its settings as "
                    "KEY=VALUE[,KEY=VALUE...] (values parsed as int, float or text)")


def parse_settings(items, flag):
    """``["max_length=10", ...]`` -> ``{"max_length": 10, ...}`` (ints, floats or text).

    Parameters
    ----------
    items : list of str
        The values of a repeatable ``KEY=VALUE`` option.
    flag : str
        The option, named by the error.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        An item without ``=`` or without a key.
    """
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag}: expected KEY=VALUE, got {item!r}")
        for convert in (int, float):
            try:
                settings[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            settings[key] = value
    return settings


def settings_from_args(args, given=None, *, command_line_defaults=True):
    """The settings (keyword arguments of :class:`TrainConfig`) of parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser with :func:`add_train_options`; names that are not settings
        (``--out``, ``--log-every``, ...) are left out.
    given : set of str, optional
        Only these settings (the options given on the command line), and those whose
        default on the command line differs from Python's (``implementation``) unless
        ``command_line_defaults`` is False; a dict option not given is left out in any
        case, so that the setting takes its default.
    command_line_defaults : bool
        With ``given``: whether to add the settings of the command line's own defaults
        (False for a resumed run, which keeps its checkpoint's).

    Returns
    -------
    dict
    """
    settings = {}
    namespace = vars(args)
    for _, f in setting_fields():
        if f.name not in namespace or (given is not None and f.name not in given and not (
                command_line_defaults and "cli_default" in f.metadata)):
            continue
        value = namespace[f.name]
        if value is argparse.SUPPRESS:
            continue
        if value_type(f.type) is dict:
            if value is not None:  # not given: the field's default (the curriculum: the task's)
                settings[f.name] = parse_settings(value, flag_of(f))
        elif value_type(f.type) is list:
            if value is not None:
                settings[f.name] = [parse_settings(item.split(","), flag_of(f))
                                    for item in value]
        elif "none_as" in f.metadata and value == f.metadata["none_as"]:
            settings[f.name] = None  # --clip-norm 0: no clip
        else:
            settings[f.name] = value
    return settings


def _word(value):
    """A value as one word of a command line: ``1e-8`` rather than ``1e-08``."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        return f"{mantissa}e{int(exponent)}" if e else text
    return shlex.quote(str(value))


def render_train_command(settings, *, out=None, always=("seed",)):
    """The ``ntm-numpy train`` command line that trains with ``settings``.

    Parameters
    ----------
    settings : dict
        Flat settings (``task`` among them); each one whose value is the command line's
        default (the task's default run's, :func:`~ntm_numpy.training.config.
        default_run_settings`, where it has one) is left out, but those in ``always``.
    out : str, optional
        The output directory (``--out``).
    always : tuple of str
        Settings written even at their default (the seed, so that the command says it).

    Returns
    -------
    str
        E.g. ``"ntm-numpy train copy --updates 15000 --seed 0 --out runs/copy"``; the
        options in the order of the settings (:func:`setting_fields`), ``--out`` last.

    Raises
    ------
    ValueError
        A setting that is not an option of the command line (``lr_start_step``), an
        unknown one, or None where the option has no value for it.
    """
    settings = renamed_settings(settings)
    fields = _fields_by_name()
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ValueError(f"settings: unknown training settings {unknown}")
    words = ["ntm-numpy", "train", _word(settings["task"])]
    default = default_run_settings(settings["task"], settings.get("model", "ntm"))
    for name, f in fields.items():
        if name not in settings or f.metadata.get("positional"):
            continue
        value = settings[name]
        if not has_option(f):
            raise ValueError(f"{name}: not an option of the command line, got {value!r}")
        if value == default.get(name, cli_default(f)) and name not in always:
            continue
        if value_type(f.type) is dict:
            words += [w for k, v in value.items() for w in (flag_of(f), _word(f"{k}={v}"))]
        elif value_type(f.type) is list:
            words += [w for item in value for w in (
                flag_of(f), _word(",".join(f"{k}={v}" for k, v in item.items())))]
        elif value is None:
            if "none_as" not in f.metadata:
                raise ValueError(f"{name}: None is not a value of {flag_of(f)}; leave it "
                                 "out for the default")
            words += [flag_of(f), _word(f.metadata["none_as"])]
        else:
            words += [flag_of(f), _word(value)]
    if out is not None:
        words += ["--out", _word(out)]
    return " ".join(words)


def options_table():
    """The Markdown table of the settings' options (docs/training.md holds it).

    Returns
    -------
    str
        A header and one row per option: the option (the positional task as
        ``TASK``), its default on the command line (then each task's default run that
        sets it otherwise), its meaning.
    """
    rows = ["| option | default | meaning |", "|--------|---------|---------|"]
    for _, f in setting_fields():
        if not has_option(f) or f.metadata.get("positional"):
            continue  # no option (lr_start_step), or the command's argument (the task)
        option = flag_of(f) + (f" {f.metadata['metavar']}" if "metavar" in f.metadata else "")
        alias = deprecated_flag_of(f)
        cell = f"`{option}`" + (f" (deprecated alias `{alias}`)" if alias else "")
        meaning = help_text(f, "markdown")
        if value_type(f.type) is dict:
            meaning += f"; {_REPEATABLE}"
        elif value_type(f.type) is list:
            meaning += f"; {_REPEATABLE_LIST}"
        rows.append(f"| {cell} | {_default_words(f)}{_task_defaults_words(f.name)} | "
                    f"{meaning} |")
    return "\n".join(rows)


def _task_defaults_words(name):
    """Where a task's default run sets the setting ``name``: ``"; priority_sort: 512"``
    (``"(lstm)"`` after a value of the LSTM baseline's run), or ``""``."""
    from ..tasks import TASKS

    words = [f"{task}{' (lstm)' if model == 'lstm' else ''}: {_word(settings[name])}"
             for task in TASKS for model in ("ntm", "lstm")
             for settings in [default_run_settings(task, model)] if name in settings]
    return "; " + "; ".join(words) if words else ""

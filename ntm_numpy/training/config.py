"""What defines a training run: :class:`TrainConfig` and its four sections, the per-task
defaults and the learning-rate schedule.

A training run is fully described by a :class:`TrainConfig`; with the same config it is
deterministic (same batches, same initial parameters, same updates).

Configuration as data: a :class:`TrainConfig` holds four sections, each a dataclass,
:class:`ModelConfig` (what is trained), :class:`TaskConfig` (on what, and how it is
validated), :class:`OptimizerConfig` (how each update moves the parameters) and
:class:`ScheduleConfig` (how many updates, how large, how often to validate and save).
Each field carries its help text (and its choices, where it has some) in its
``metadata``; the command line (:mod:`ntm_numpy.training.options`) and the option table
of docs/training.md are generated from them. The flat form of the settings is the one
people write and checkpoints store: ``TrainConfig(task="copy", controller_size=50,
updates=100)``, ``config.batch_size``, :meth:`TrainConfig.to_flat` and
:meth:`TrainConfig.from_flat`.

Words: an *update* is one step of the optimiser (``updates``, ``--updates``); a *step* is
a time step of a sequence; the *implementation* is the code that runs a time step of the
NTM (``implementation``, ``--implementation``). The former names ``steps`` and ``step``
are deprecated aliases, kept for one release (:data:`DEPRECATED_SETTINGS`); checkpoints
written before the rename hold them and are read as they are (:func:`recorded_settings`).

Departures from the paper: the paper trains with RMSProp (Graves 2013's form, with
momentum); the default here is Adam at batch size 16, with the global gradient norm
clipped too and the learning rate cut once validation converges (RMSProp is available
with ``optimizer="rmsprop"``). On the copy task this converged in fewer sequences and
in less wall-clock time in our runs (docs/results/copy.md).
"""
import inspect
import math
import textwrap
from dataclasses import asdict, dataclass, field, fields, make_dataclass, replace
from typing import Optional, get_args

from .._validation import check_choice, check_positive_int, check_seed, warn_deprecated
from ..baseline import LSTMBaseline
from ..constants import ADAM_EPS, ADAM_LR, CLIP_VALUE, RMSPROP_LR
from ..model import IMPLEMENTATIONS, NTM, NTM_OPTIONS
from ..tasks import TASKS, get_task
from .defaults import (  # noqa: F401 (given under this module's name too)
    CLIP_NORM,
    CONVERGED_BIT_ERRORS,
    CURRICULUM_BIT_ERRORS,
    CURRICULUM_TARGET_SHARE,
    LR_AFTER_CONVERGED,
    LR_FINAL_FRACTION,
    RESTART_SEED_STRIDE,
    SETTLE_VALIDATIONS,
    TASK_DEFAULTS,
    default_run_settings,
    restart_seed,
)
from .parallel import batch_slices

#: Settings a resumed run may change (they apply from the resume update on); any other
#: setting given on resume must equal the checkpoint's.
RESUME_CHANGEABLE = ("updates", "lr", "lr_schedule", "lr_after_converged", "batch_size",
                     "clip", "clip_norm", "eval_every", "checkpoint_every", "implementation",
                     "task_settings_after_converged", "settle_validations", "workers")

#: Former names of settings: deprecated alias -> setting. ``TrainConfig(steps=...)``,
#: ``config.steps``, ``train(steps=...)`` and ``--steps`` still work for one release,
#: with a :class:`DeprecationWarning`; checkpoints written before the rename hold these
#: names, which :func:`recorded_settings` maps without a warning.
DEPRECATED_SETTINGS = {"steps": "updates", "step": "implementation"}


def _setting(default=None, help="", *, factory=None, **metadata):
    """A dataclass field whose ``metadata`` holds its ``help`` text and any of:
    ``choices``, ``default_text`` (the default in words, where it is filled in from other
    settings), ``alias`` (its deprecated former name), ``cli`` (False: no flag),
    ``cli_default`` (the command line's default where it differs), ``flag`` (the flag's
    name where it is not the field's), ``positional``, ``metavar``, ``none_as`` (the
    command-line value that stands for None). ``{name}`` in the help is a reference to
    the setting ``name`` (a flag on the command line)."""
    metadata = {"help": help, **metadata}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _document(cls):
    """Complete the docstring of the section ``cls`` with a numpydoc ``Attributes``
    section, one entry per field from its help metadata (what ``help(ModelConfig)``
    shows), so that the help is written once, in the fields."""
    lines = [inspect.cleandoc(cls.__doc__), "", "Attributes", "----------"]
    for f in fields(cls):
        lines.append(f"{f.name} : {type_name(f.type)}, default {default_of(f)!r}")
        lines += textwrap.wrap(f.metadata["help"].replace("{", "``").replace("}", "``"),
                               width=88, initial_indent="    ", subsequent_indent="    ")
    cls.__doc__ = "\n".join(lines)
    return cls


def default_of(f):
    """The default value of the dataclass field ``f`` (its factory's value, if it has one).

    Parameters
    ----------
    f : dataclasses.Field

    Returns
    -------
    object
    """
    return f.default_factory() if callable(f.default_factory) else f.default


def type_name(annotation):
    """``int``, ``str``, ``float or None``, ...: the type of a setting, in words.

    Parameters
    ----------
    annotation : type or typing.Optional[type]

    Returns
    -------
    str
    """
    base = value_type(annotation)
    return annotation.__name__ if base is annotation else f"{base.__name__} or None"


def value_type(annotation):
    """The type of a setting's values, without ``Optional``: ``Optional[int]`` -> ``int``.

    Parameters
    ----------
    annotation : type or typing.Optional[type]

    Returns
    -------
    type
    """
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


# The architecture fields are generated from NTM_OPTIONS with make_dataclass rather than
# written out: NTM_OPTIONS is the one declaration of the architecture that the NTM's
# constructor (its defaults), this section and the command line (its flags) share, so
# that a new option of the NTM is a setting and a flag without a second list to keep in
# step. (No class is altered after the fact: make_dataclass is the documented way to
# build a dataclass from a list of fields.)
ModelConfig = make_dataclass("ModelConfig", [
    ("model", str, _setting("ntm", "'ntm', or 'lstm' for the baseline without memory",
                            choices=("ntm", "lstm"))),
    *[(name, opt.type, _setting(opt.default, opt.help, **(
        {"choices": opt.choices} if opt.choices else {})))
      for name, opt in NTM_OPTIONS.items()],
    ("hidden_size", int, _setting(256, "hidden units of the LSTM baseline (with {model} "
                                  "lstm only)")),
    ("dtype", str, _setting("float32", "'float32' (faster) or 'float64'",
                            choices=("float32", "float64"))),
    ("implementation", str, _setting(
        "reference", "the implementation of the NTM's time step: 'reference' (the "
        "primitives, through model.ops; the Python API's default) or 'fused' (the same "
        "maths rearranged for speed; the command line's default); a run may be resumed "
        "with the other", choices=tuple(IMPLEMENTATIONS), cli_default="fused",
        alias="step")),
], namespace={"__module__": __name__, "__doc__": """The model section of a TrainConfig.

    What is trained: the architecture (one field per entry of
    :data:`ntm_numpy.model.NTM_OPTIONS`), the dtype and the time step's implementation
    (the attributes are listed from the fields' help)."""})
_document(ModelConfig)


@_document
@dataclass
class TaskConfig:
    """The task section of a :class:`TrainConfig`: the task, its settings and curriculum,
    and the fixed validation set (the attributes are listed from the fields' help)."""

    task: str = _setting("copy", "the task, one of ntm_numpy.tasks.TASKS", choices=TASKS,
                         positional=True)
    task_settings: dict = _setting(
        help="settings of the task, keyword arguments of ntm_numpy.tasks.get_task, e.g. "
        "max_length=10 (an unknown key is refused before anything is written)",
        factory=dict, flag="task-setting", metavar="KEY=VALUE", default_text="the task's")
    task_settings_after_converged: Optional[dict] = _setting(
        None, "task settings that replace those of {task_settings} for the training batches "
        "once the run has settled ({settle_validations}), e.g. max_length=40: a curriculum "
        "that goes on to longer sequences once the short ones are learnt (the validation "
        "set keeps the task's settings)", flag="task-setting-after-converged",
        metavar="KEY=VALUE", default_text="copy with its default settings: max_length=60; "
        "other tasks: none")
    task_stages: list = _setting(
        help="a curriculum before the task: stages of task settings, each on top of "
        "{task_settings}, e.g. max_repeats=1,max_length=1 (a stage changes only the "
        "settings it names: repeat copy's count keeps the task's scale); the training "
        "batches come from "
        "the first stage until their bit errors per sequence, averaged over the updates "
        "since the last validation, are below 1, then from the next, and from the task's "
        "own settings after the last (a fifth of the batches come from the task's own "
        "settings throughout); the validation set keeps the task's settings",
        factory=list, flag="task-stage", metavar="KEY=VALUE[,KEY=VALUE...]")
    settle_validations: Optional[int] = _setting(
        None, "validations in a row below 0.1 bit errors per sequence after which the run "
        "has settled: from the next update on it trains with {lr_after_converged} and "
        "{task_settings_after_converged}",
        default_text="5 with copy's default curriculum, else 1")
    val_batches: int = _setting(10, "batches of the fixed validation set")
    val_batch_size: int = _setting(32, "sequences per batch of the validation set")


@_document
@dataclass
class OptimizerConfig:
    """The optimizer section of a :class:`TrainConfig`: the optimiser, its learning-rate
    schedule and the gradient clipping (the attributes are listed from the fields' help)."""

    optimizer: str = _setting("adam", "'adam' or 'rmsprop'", choices=("adam", "rmsprop"))
    lr: Optional[float] = _setting(None, "learning rate",
                                   default_text="2e-3 for adam, 1e-4 for rmsprop")
    eps: Optional[float] = _setting(None, "the optimiser's epsilon",
                                    default_text="1e-4 for adam, the optimiser's own for "
                                    "rmsprop")
    clip: float = _setting(CLIP_VALUE, "element-wise gradient clip, as in the paper")
    clip_norm: Optional[float] = _setting(
        CLIP_NORM, "then clip the global norm of the gradients to this; None (0 on the "
        "command line): not at all", none_as=0)
    lr_schedule: str = _setting("cosine", "'cosine' (from {lr} down to 1% of it over the "
                                "run) or 'constant'", choices=("cosine", "constant"))
    lr_after_converged: float = _setting(
        LR_AFTER_CONVERGED, "factor on the learning rate once the run has settled "
        "({settle_validations}); 1 keeps it")
    lr_start_step: int = _setting(
        0, "the update at which the schedule of lr starts: 0, or the update at which a "
        "resumed run started a new schedule (set by training)", cli=False)


@_document
@dataclass
class ScheduleConfig:
    """The schedule section of a :class:`TrainConfig`: updates, validations, checkpoints,
    workers, seed, restarts (the attributes are listed from the fields' help)."""

    updates: Optional[int] = _setting(None, "number of updates, the run's total",
                                      default_text="per task; copy 5000", alias="steps")
    batch_size: int = _setting(16, "sequences per update")
    eval_every: int = _setting(100, "updates between validations")
    checkpoint_every: int = _setting(1000, "updates between checkpoints (when the run has "
                                     "an output directory)")
    workers: int = _setting(
        1, "processes that share each update's batch: n cuts it into n slices, one for the "
        "training process and one for each of n - 1 workers (the same gradients up to "
        "rounding, so not bit for bit the run with 1)")
    seed: int = _setting(0, "seeds the parameters and the data")
    restart_after: int = _setting(
        0, "updates after which a run none of whose validations since its start has been "
        "at or below {restart_above} starts again, within its {updates}: new initial "
        "parameters (those of seed {seed} + 1,000,000 k at the k-th restart), optimiser "
        "state, learning-rate schedule and curriculum; the data go on; 0: never")
    restart_above: float = _setting(
        1.0, "the {restart_measure} per sequence a validation must reach by {restart_after}")
    restart_measure: str = _setting("bit_errors", "'bit_errors' (wrong bits per sequence) or "
                                    "'cost' (bits per sequence)", choices=("bit_errors", "cost"))
    restarts: int = _setting(1, "the most restarts a run makes (with {restart_after})")



#: The sections of a :class:`TrainConfig`: attribute -> dataclass, in the order of the
#: flat settings (:meth:`TrainConfig.to_flat`) and of the command line's help.
SECTIONS = {"model_section": ModelConfig, "task_section": TaskConfig,
            "optimizer_section": OptimizerConfig, "schedule_section": ScheduleConfig}
#: Short names under which a section object may also be given: ``TrainConfig(model=
#: ModelConfig(...))`` (``model``, ``task`` and ``optimizer`` are also settings, so a
#: section given so is told apart by its type).
_SECTION_NAMES = {name.removesuffix("_section"): name for name in SECTIONS}


def setting_fields():
    """Every setting of a :class:`TrainConfig`, flat.

    Returns
    -------
    list of (str, dataclasses.Field)
        ``(section, field)`` pairs, ``section`` the attribute of the :class:`TrainConfig`
        that holds the field's section, in the order of :meth:`TrainConfig.to_flat`.
    """
    return [(section, f) for section, cls in SECTIONS.items() for f in fields(cls)]


#: Flat setting -> the attribute of the section that holds it.
_SECTION_OF = {f.name: section for section, f in setting_fields()}


def learning_rate(config, step, converged):
    """Learning rate of update number ``step`` (0-based) of a run with ``config``.

    Parameters
    ----------
    config : TrainConfig
    step : int
        The update (0-based; also the number of updates done before it).
    converged : bool
        Whether the run has settled before this update (:func:`settled_index`), which
        multiplies the rate by ``config.lr_after_converged``.

    Returns
    -------
    float
        The rate: the schedule runs from ``config.lr`` at update ``config.lr_start_step``
        (0 unless a resume or a restart started a new one) to ``config.updates - 1``.
    """
    lr = config.lr
    start = config.lr_start_step
    if config.lr_schedule == "cosine" and config.updates - start > 1:
        frac = min(max(step - start, 0) / (config.updates - 1 - start), 1.0)
        lr = lr * (LR_FINAL_FRACTION + (1 - LR_FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * frac)))
    return lr * (config.lr_after_converged if converged else 1.0)


def renamed_settings(settings, *, warn=True):
    """``settings`` (a flat dict) with the deprecated names of :data:`DEPRECATED_SETTINGS`
    replaced by the current ones.

    Parameters
    ----------
    settings : dict
    warn : bool
        Emit a :class:`DeprecationWarning` for each deprecated name (False for
        checkpoints written before the rename, which hold them).

    Raises
    ------
    ValueError
        Both a deprecated name and its replacement are given.
    """
    out = dict(settings)
    for old, new in DEPRECATED_SETTINGS.items():
        if old not in out:
            continue
        if new in out:
            raise ValueError(f"{old}: a deprecated alias of {new}; expected one of the two, "
                             f"got {old}={out[old]!r} and {new}={out[new]!r}")
        if warn:
            warn_deprecated(f"the setting {old!r}", repr(new), stacklevel=4)
        out[new] = out.pop(old)
    return out


@dataclass(init=False)
class TrainConfig:
    """Everything that defines a training run: four sections of settings.

    ``TrainConfig(task="copy", controller_size=50, updates=100)`` takes the settings
    flat, by name; ``TrainConfig(model_section=ModelConfig(...), ...)`` (or
    ``model=ModelConfig(...)``, ``task=TaskConfig(...)``, ``optimizer=...``,
    ``schedule=...``) takes whole sections, and flat settings given as well apply on top
    of them. A setting left out takes the task's default run's value
    (:func:`default_run_settings`; not where its whole section is given), else its own default;
    those whose default is None are filled in from the others (:data:`TASK_DEFAULTS`,
    the optimiser's defaults). Every
    setting is checked. The help of each setting is in its field's ``metadata`` (and in
    docs/training.md).

    Parameters
    ----------
    model_section, task_section, optimizer_section, schedule_section : optional
        The sections (:class:`ModelConfig`, :class:`TaskConfig`,
        :class:`OptimizerConfig`, :class:`ScheduleConfig`), copied.
    **settings
        Flat settings (:func:`setting_fields`); ``steps`` and ``step`` are deprecated
        aliases of ``updates`` and ``implementation`` (they warn).

    Attributes
    ----------
    model_section : ModelConfig
        ``model`` ("ntm" or "lstm"), the NTM's architecture (:data:`NTM_OPTIONS`),
        ``hidden_size`` (the baseline's), ``dtype`` and ``implementation``.
    task_section : TaskConfig
        ``task``, ``task_settings``, ``task_settings_after_converged``,
        ``settle_validations``, ``val_batches``, ``val_batch_size``.
    optimizer_section : OptimizerConfig
        ``optimizer``, ``lr``, ``eps``, ``clip``, ``clip_norm``, ``lr_schedule``,
        ``lr_after_converged``, ``lr_start_step``.
    schedule_section : ScheduleConfig
        ``updates``, ``batch_size``, ``eval_every``, ``checkpoint_every``, ``workers``,
        ``seed``, ``restart_after``, ``restart_above``, ``restart_measure``,
        ``restarts``.

    Every setting is also a read-only attribute of the config itself, e.g.
    ``config.batch_size`` (``config.steps`` and ``config.step``: deprecated aliases).
    ``dataclasses.asdict(config)`` gives the nested form, :meth:`to_flat` the flat one
    (what checkpoints store); :meth:`from_dict` reads either.

    Raises
    ------
    ValueError
        A setting out of range or of the wrong kind; the message starts with its name.
    TypeError
        An unknown keyword.
    """

    model_section: ModelConfig
    task_section: TaskConfig
    optimizer_section: OptimizerConfig
    schedule_section: ScheduleConfig

    def __init__(self, *, model_section=None, task_section=None, optimizer_section=None,
                 schedule_section=None, **settings):
        given = dict(model_section=model_section, task_section=task_section,
                     optimizer_section=optimizer_section, schedule_section=schedule_section)
        for short, name in _SECTION_NAMES.items():  # a section given by its short name
            if isinstance(settings.get(short), SECTIONS[name]):
                if given[name] is not None:
                    raise TypeError(f"TrainConfig: {short} and {name} are the same section; "
                                    "expected one of them")
                given[name] = settings.pop(short)
        settings = renamed_settings(settings)
        unknown = sorted(set(settings) - set(_SECTION_OF))
        if unknown:
            raise TypeError(f"TrainConfig got an unexpected keyword argument {unknown[0]!r}")
        settings = self._with_task_settings(settings, given)
        for name, cls in SECTIONS.items():
            section = given[name]
            if section is None:
                section = cls()
            elif not isinstance(section, cls):
                raise TypeError(f"{name}: expected a {cls.__name__}, got "
                                f"{type(section).__name__}")
            mine = {k: v for k, v in settings.items() if _SECTION_OF[k] == name}
            setattr(self, name, replace(section, **mine))  # a copy
        self._fill_defaults_and_check()

    @staticmethod
    def _with_task_settings(settings, sections):
        """``settings`` with the task's default run's settings (:func:`default_run_settings`)
        added for each setting not given, flat or in a whole section."""
        task = settings.get("task", getattr(sections["task_section"], "task", TaskConfig.task))
        model = settings.get("model", getattr(sections["model_section"], "model", "ntm"))
        if not isinstance(task, str) or task not in TASKS or model not in ("ntm", "lstm"):
            return settings  # refused with a clear message by the checks
        defaults = {k: v for k, v in default_run_settings(task, model).items()
                    if k not in settings and sections[_SECTION_OF[k]] is None}
        return {**defaults, **settings}

    def _fill_defaults_and_check(self):
        """Fill in the settings whose default depends on others; check every setting."""
        task, opt = self.task_section, self.optimizer_section
        check_choice("task", self.task, TASKS)
        if self.updates is None:
            self.schedule_section.updates = TASK_DEFAULTS[self.task]["updates"]
        curriculum = TASK_DEFAULTS[self.task].get("task_settings_after_converged", {})
        if self.task_settings_after_converged is None:
            task.task_settings_after_converged = {} if self.task_settings else dict(curriculum)
        if self.settle_validations is None:
            default_curriculum = bool(curriculum) and (
                not self.task_settings and self.task_settings_after_converged == curriculum)
            task.settle_validations = (TASK_DEFAULTS[self.task]["settle_validations"]
                                       if default_curriculum else SETTLE_VALIDATIONS)
        if self.lr is None:
            opt.lr = ADAM_LR if self.optimizer == "adam" else RMSPROP_LR
        if self.eps is None and self.optimizer == "adam":
            opt.eps = ADAM_EPS
        if self.eps is not None and not (isinstance(self.eps, (int, float))
                                         and math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps: expected a finite number > 0, got {self.eps!r}")
        check_positive_int("updates", self.updates, minimum=0)
        check_positive_int("batch_size", self.batch_size)
        batch_slices(self.batch_size, self.workers)  # workers: between 1 and batch_size
        check_choice("optimizer", self.optimizer, ("adam", "rmsprop"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("model", self.model, ("ntm", "lstm"))
        check_choice("implementation", self.implementation, tuple(IMPLEMENTATIONS))
        check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        check_positive_int("eval_every", self.eval_every)
        check_positive_int("settle_validations", self.settle_validations)
        check_positive_int("val_batches", self.val_batches)
        check_positive_int("val_batch_size", self.val_batch_size)
        check_positive_int("checkpoint_every", self.checkpoint_every)
        check_seed("seed", self.seed)
        self._check_restarts()
        check_positive_int("lr_start_step", self.lr_start_step, minimum=0)
        if self.lr_start_step > self.updates:
            raise ValueError(f"lr_start_step: expected at most updates ({self.updates}), got "
                             f"{self.lr_start_step}")
        for name in ("task_settings", "task_settings_after_converged"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name}: expected a dict, got "
                                 f"{type(getattr(self, name)).__name__}")
        if not isinstance(self.task_stages, (list, tuple)) or not all(
                isinstance(stage, dict) for stage in self.task_stages):
            raise ValueError("task_stages: expected a list of dicts of task settings, got "
                             f"{self.task_stages!r}")
        task.task_stages = [dict(stage) for stage in self.task_stages]
        for i, _ in enumerate(self.task_stages):
            try:
                self.make_task(stage=i)
            except ValueError as err:
                raise ValueError(f"task_stages: stage {i}: {err}") from None
        if self.task_settings_after_converged:
            try:
                self.make_task(after_converged=True)
            except ValueError as err:
                raise ValueError(f"task_settings_after_converged: {err}") from None
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: expected a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.lr_after_converged, (int, float))
                and 0 < self.lr_after_converged <= 1):
            raise ValueError("lr_after_converged: expected a number in (0, 1], got "
                             f"{self.lr_after_converged!r}")
        if self.clip_norm is not None and not (math.isfinite(self.clip_norm)
                                               and self.clip_norm > 0):
            raise ValueError(f"clip_norm: expected a finite number > 0 or None, got "
                             f"{self.clip_norm!r}")
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip: expected a finite number > 0, got {self.clip!r}")

    def _check_restarts(self):
        """Check the settings of a stuck run's restart (``restart_after``, ...)."""
        check_positive_int("restart_after", self.restart_after, minimum=0)
        check_positive_int("restarts", self.restarts, minimum=0)
        check_choice("restart_measure", self.restart_measure, ("bit_errors", "cost"))
        if self.restart_after % self.eval_every:
            raise ValueError(f"restart_after: expected a multiple of eval_every "
                             f"({self.eval_every}), got {self.restart_after}")
        x = self.restart_above
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x < math.inf:
            raise ValueError(f"restart_above: expected a finite number >= 0, got {x!r}")

    # ---- the flat form
    def to_flat(self):
        """The settings as one flat dict, setting -> value (copies of the dicts): what
        a checkpoint's ``meta["train_config"]`` holds.

        Returns
        -------
        dict
            In the order of :func:`setting_fields`; JSON-serialisable.
        """
        flat = {}
        for name in SECTIONS:
            flat.update(asdict(getattr(self, name)))
        return flat

    @classmethod
    def from_flat(cls, settings):
        """The config of flat ``settings`` (as :meth:`to_flat` gives; the deprecated
        names of :data:`DEPRECATED_SETTINGS` are accepted with a warning).

        Parameters
        ----------
        settings : dict
            Setting -> value; a setting left out takes its field's default, not the
            task's default run's (:func:`default_run_settings`): a checkpoint written before a
            setting existed is read as the run it recorded.

        Returns
        -------
        TrainConfig

        Raises
        ------
        ValueError
            An unknown setting (``"config: unknown training settings [...]"``), or a
            value :class:`TrainConfig` refuses.
        """
        known = set(_SECTION_OF) | set(DEPRECATED_SETTINGS)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"config: unknown training settings {unknown}")
        settings = renamed_settings(settings)
        recorded = {f.name: default_of(f) for _, f in setting_fields()}
        return cls(**{**recorded, **settings})

    @classmethod
    def from_dict(cls, d):
        """The config of ``d``, flat (:meth:`to_flat`, a checkpoint's settings) or nested
        (``dataclasses.asdict(config)``: section attribute -> dict of its settings).

        Parameters
        ----------
        d : dict

        Returns
        -------
        TrainConfig

        Raises
        ------
        ValueError
            An unknown setting or section, or a value :class:`TrainConfig` refuses.
        """
        if d and all(isinstance(v, dict) for v in d.values()) and set(d) <= set(SECTIONS):
            sections = {}
            for name, values in d.items():
                known = {f.name for f in fields(SECTIONS[name])}
                unknown = sorted(set(values) - known)
                if unknown:
                    raise ValueError(f"config: unknown training settings {unknown} in "
                                     f"{name}")
                sections[name] = SECTIONS[name](**values)
            return cls(**sections)
        return cls.from_flat(d)

    # ---- what the config builds
    def make_task(self, after_converged=False, stage=None):
        """The task of the training batches.

        Parameters
        ----------
        after_converged : bool
            Once the run has settled: the task with ``task_settings_after_converged`` on
            top of ``task_settings``.
        stage : int, optional
            A stage of the curriculum: the task with ``task_stages[stage]`` on top of
            ``task_settings``; every setting the stage does not name keeps the task's
            value as the task resolves it (so a stage of repeat copy with fewer repeats
            keeps the task's ``repeat_scale``: a count means the same input in every
            stage).

        Returns
        -------
        ntm_numpy.tasks.Task
        """
        settings = dict(self.task_settings)
        if stage is not None:  # the stage changes what it names; the rest is the task's
            resolved = get_task(self.task, **settings).params  # as resolved: repeat copy's
            settings = {**{k: v for k, v in resolved.items() if k != "dtype"},  # count scale
                        **self.task_stages[stage]}
        if after_converged:
            settings.update(self.task_settings_after_converged)
        return get_task(self.task, **settings)

    def make_model(self):
        """The model the run starts from: an :class:`~ntm_numpy.model.NTM` or an
        :class:`~ntm_numpy.baseline.LSTMBaseline` sized for the task, its parameters
        drawn from ``seed``.

        Returns
        -------
        NTM or LSTMBaseline
        """
        task = self.make_task()
        if self.model == "lstm":
            return LSTMBaseline(task.input_size, task.output_size, hidden_size=self.hidden_size,
                                seed=self.seed, dtype=self.dtype)
        options = {name: getattr(self, name) for name in NTM_OPTIONS}
        return NTM(task.input_size, task.output_size, seed=self.seed, dtype=self.dtype,
                   implementation=self.implementation, **options)

    # ---- deprecated aliases
    @property
    def steps(self):
        """Deprecated alias of ``updates`` (warns; kept for one release)."""
        warn_deprecated("TrainConfig.steps", "TrainConfig.updates")
        return self.updates

    @property
    def step(self):
        """Deprecated alias of ``implementation`` (warns; kept for one release)."""
        warn_deprecated("TrainConfig.step", "TrainConfig.implementation")
        return self.implementation


def _flat_property(section, f):
    """A read-only property of :class:`TrainConfig` that reads the setting ``f`` (a
    field) of its ``section``; its docstring is the field's help."""
    name = f.name

    def get(self):
        return getattr(getattr(self, section), name)

    get.__name__ = name
    return property(get, doc=f.metadata["help"].replace("{", "``").replace("}", "``"))


# The flat settings as read-only attributes of TrainConfig: ``config.batch_size`` reads
# ``config.schedule_section.batch_size`` (properties made from the fields, so that the
# two never disagree; a section's settings change through the section itself).
for _section, _field in setting_fields():
    setattr(TrainConfig, _field.name, _flat_property(_section, _field))
del _section, _field


def recorded_settings(train_config):
    """A checkpoint's ``meta["train_config"]`` as the flat settings of today.

    The settings a checkpoint predates are filled in as its run trained: runs saved
    before the implementation could be chosen ran what is now the fused one, those saved
    before ``task_settings_after_converged`` existed had no curriculum, and those saved
    before ``settle_validations`` existed switched at the first validation below
    :data:`CONVERGED_BIT_ERRORS`. The names of :data:`DEPRECATED_SETTINGS` (``steps``,
    ``step``), which checkpoints written before the rename hold, are mapped to the
    current ones without a warning.

    Parameters
    ----------
    train_config : dict or None

    Returns
    -------
    dict
    """
    return {"implementation": "fused", "task_settings_after_converged": {},
            "settle_validations": 1, **renamed_settings(train_config or {}, warn=False)}

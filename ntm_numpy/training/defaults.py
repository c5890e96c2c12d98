"""Training's defaults: each task's default run (:data:`TASK_DEFAULTS`,
:func:`default_run_settings`), the thresholds by which a run has converged, settled or
passed a curriculum stage, and the clipping and learning-rate constants that the
settings of :class:`~ntm_numpy.training.config.TrainConfig` default to.
:mod:`ntm_numpy.training.config` builds on them and gives them under its own name too."""
from .._validation import check_choice, check_positive_int, check_seed
from ..tasks import TASKS

#: Model and training defaults per task (the paper's section 4 architectures:
#: an LSTM controller of 100 units, 128 x 20 memory, one read and one write head).
#: ``task_settings_after_converged`` is the default curriculum of a run with the task's
#: default settings: copy goes on to lengths 1-60 once lengths 1-20 are learnt, after
#: which 11 of 12 seeds of the default run copy lengths 40 and 80 (docs/results/copy.md);
#: ``settle_validations`` how many validations in a row below 0.1 bit errors "learnt"
#: takes then (5: a run switched at its first one can lose what it had just learnt).
#: ``measure`` is the score of :func:`~ntm_numpy.training.evaluation.evaluate_scores` that the generalisation curves
#: of ``ntm-numpy train`` and ``ntm-numpy evaluate`` plot (``"bit_errors"`` where not
#: given): the paper reports the N-gram task and priority sort by their cost.
#: ``settings`` holds, per model ("ntm", "lstm"), the flat settings of the task's
#: default run that differ from the settings' own defaults (:func:`default_run_settings`);
#: a setting given to :class:`~ntm_numpy.training.config.TrainConfig` (or on the command line) takes precedence.
#: Priority sort's NTM is the paper's kind (a feed-forward controller of 512 units,
#: here 4 read and 4 write heads) with write heads that start walking forward
#: (``head_init="write_forward"``), Adam at 1e-3 and batches of 8: 4 of 5 seeds below the
#: paper's 20 bits per sequence (docs/results/priority_sort.md).
#: Repeat copy's NTM has a controller of 50 units (the count of copies carried over to
#: length 20 with 50 units, not with 100), trains 30,000 updates with the global-norm clip
#: at 10, goes on to 1-20 repeats once it has learnt 1-10, and starts again from new
#: parameters if no validation is at or below 1 wrong bit per sequence by update 12,000
#: (``restart_after``; the seeds that learn do so by update 9,400): 5 of 5 seeds learn
#: the task, 1 of 5 reaches the paper's level at length 20 (docs/results/repeat_copy.md).
#: Copy's LSTM baseline trains four times as many updates as the NTM (20,000; the NTM's
#: sequences grow to 60 once it has learnt lengths 1-20, the LSTM's do not): with 5,000
#: it has not learnt lengths 1-10 of its training range (docs/results/copy.md).
#: The N-gram NTM has 256 memory rows (one per step of a 200-bit stream, so that rows
#: not yet written stay as a prior), write heads that start walking forward (every seed
#: of 0-4 starts to use its memory within 1,500 updates, where with heads that start at
#: rest one run of nine never did) and 12,000 updates, shared by two worker processes:
#: 4 of 5 seeds within 0.5 bits per stream of the Bayes-optimal estimator
#: (docs/results/ngrams.md). Its LSTM baseline trains 3,000.
#: The number of worker processes is fixed per task, whatever the machine (1 but for
#: the N-gram NTM's 2), so that a seed gives the same run everywhere (a run with
#: ``workers=2`` rounds differently from one with 1: docs/training.md).
TASK_DEFAULTS = {
    "copy": dict(updates=5000, lengths=(10, 20, 40, 80, 120),
                 task_settings_after_converged=dict(max_length=60), settle_validations=5,
                 settings=dict(ntm={}, lstm=dict(updates=20000))),
    "repeat_copy": dict(updates=12000, lengths=(5, 10, 15, 20),
                        settings=dict(ntm=dict(
                            controller_size=50, updates=30000, clip_norm=10.0,
                            restart_after=12000,
                            task_settings_after_converged=dict(max_repeats=20, repeat_scale=10)),
                            lstm={})),
    "associative_recall": dict(updates=12000, lengths=(2, 6, 10, 12),
                               settings=dict(ntm={}, lstm={})),
    "ngrams": dict(updates=3000, lengths=(200,), measure="cost_above_optimum_bits",
                   settings=dict(ntm=dict(
                       memory_rows=256, head_init="write_forward", updates=12000,
                       eval_every=500, workers=2),
                       lstm={})),
    "priority_sort": dict(updates=12000, lengths=(20,), measure="cost_bits",
                          settings=dict(ntm=dict(
                              controller="feedforward", controller_size=512, read_heads=4,
                              write_heads=4, memory_init="learned", head_init="write_forward",
                              lr=1e-3, updates=24000, batch_size=8, eval_every=1000),
                              lstm={})),
}


def default_run_settings(task, model="ntm"):
    """The settings of ``task``'s default run with ``model`` that differ from the
    settings' own defaults: what ``ntm-numpy train TASK`` (``--model MODEL``) adds to
    them. A setting given explicitly replaces its entry.

    Parameters
    ----------
    task : str
        One of :data:`ntm_numpy.tasks.TASKS`.
    model : str
        ``"ntm"`` or ``"lstm"``.

    Returns
    -------
    dict
        Flat settings (a copy).
    """
    check_choice("task", task, TASKS)
    check_choice("model", model, ("ntm", "lstm"))
    return {k: (dict(v) if isinstance(v, dict) else v)
            for k, v in TASK_DEFAULTS[task]["settings"][model].items()}

#: Threshold on validation bit errors per sequence that counts as "converged".
CONVERGED_BIT_ERRORS = 0.1

#: A stage of a curriculum (``task_stages``) is passed once the training batches' bit
#: errors per sequence, averaged over the updates since the last validation, are below
#: this: 1, as in Collier & Beel's curriculum experiments (a lesson is learnt below one
#: wrong bit per sequence).
CURRICULUM_BIT_ERRORS = 1.0

#: Share of the training batches drawn from the task's own settings while a curriculum
#: stage is on (each update draws which): the rest come from the stage. Collier & Beel's
#: best hand-made curriculum, "look back and forward", keeps 20% of the samples off the
#: current lesson.
CURRICULUM_TARGET_SHARE = 0.2

#: Default global-norm clip applied after the element-wise one. At 1, about the median
#: gradient norm of a trained copy model on a batch of 16, nearly every gradient is
#: scaled to unit norm, so a rare batch with a gradient 100 times the usual one moves
#: Adam no further than any other: with 10, such batches knocked converged copy runs
#: back up (seed 0 relapsed and ended at 0.37 bit errors per sequence); the comparison
#: over 12 seeds is in docs/results/copy.md.
CLIP_NORM = 1.0

#: Default factor on the learning rate once the run has settled (validation below
#: CONVERGED_BIT_ERRORS, see :func:`~ntm_numpy.training.evaluation.settled_index`): smaller steps keep a converged model
#: from relapsing on a rare hard batch.
LR_AFTER_CONVERGED = 0.2

#: Default number of validations in a row below :data:`CONVERGED_BIT_ERRORS` after which
#: a run switches to ``lr_after_converged`` and ``task_settings_after_converged`` (a
#: task's default curriculum may ask for more, :data:`TASK_DEFAULTS`).
SETTLE_VALIDATIONS = 1

#: Where the cosine schedule ends, as a fraction of the initial learning rate. Adam's
#: steps keep their size however small the gradient gets, so a converged model keeps
#: moving at a constant rate; letting the rate fall towards 0 makes it settle.
LR_FINAL_FRACTION = 0.01

#: A run's k-th restart (``restart_after``) starts from the initial parameters of seed
#: ``seed + RESTART_SEED_STRIDE * k``: far from the seeds that sweeps use, so that a
#: restart does not repeat another seed's run, and a number that can be given to
#: ``--seed`` to see how that start trains on its own.
RESTART_SEED_STRIDE = 1_000_000


def restart_seed(seed, k):
    """The seed whose initial parameters the ``k``-th restart of a run of seed ``seed``
    starts from (``TrainConfig.restart_after``): ``seed + RESTART_SEED_STRIDE * k``,
    whose run ``ntm-numpy train TASK --seed`` that number starts from the same ones.

    Parameters
    ----------
    seed : int >= 0
    k : int >= 1

    Returns
    -------
    int
    """
    return check_seed("seed", seed) + RESTART_SEED_STRIDE * check_positive_int("k", k)

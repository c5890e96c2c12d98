"""Training speed of the default copy configuration, for each of the two implementations
of the NTM's time step (``fused``, what ``ntm-numpy train`` runs, and ``reference``, the
primitives): sequences per second.

One "sequence" is a full training update's share: forward, backward, loss and the
optimiser update, for copy sequences of mean length 10 (L uniform in 1..20, T = 2L+1,
so 21 steps on average). Prints, for batch sizes 1, 16 and 64 in float32 and float64:
ms per sequence, ms per unrolled step of one sequence, sequences per second (each the
best of several timed windows, with the median beside it), and the peak resident
memory of the process.

    python benchmarks/train_speed.py            # about two minutes
    python benchmarks/train_speed.py --seconds 5 --batch-sizes 1 16 --implementations fused
"""
import argparse
import resource
import time

import numpy as np

from ntm_numpy import NTM
from ntm_numpy.losses import sigmoid_cross_entropy_backward, sigmoid_cross_entropy_forward
from ntm_numpy.optim import Adam, clip_elementwise
from ntm_numpy.tasks import get_task
from ntm_numpy.training.threads import single_blas_thread


def measure(batch_size, dtype, seconds, repeats=5, seed=0, step_name="fused"):
    """Time training updates in ``repeats`` windows of ``seconds / repeats`` each.

    Returns the seconds per sequence (of the mean length T of all timed sequences) of
    the fastest window and of the median window, by their time per unrolled step (a
    window is slowed down, never sped up, by whatever else the machine runs), and T.
    """
    task = get_task("copy")
    model = NTM(task.input_size, task.output_size, dtype=dtype, seed=seed,
                implementation=step_name)
    opt = Adam(lr=1e-3)
    rng = np.random.default_rng(seed)
    batches = [task.batch(rng, batch_size, dtype=dtype) for _ in range(64)]
    # warm-up, then timed updates over a fixed cycle of batches (mean length close to 10)
    for x, y, mask in batches[:2]:
        step(model, opt, x, y, mask)
    per_step, n_seq_all, n_steps_all = [], 0, 0
    i = 0
    for _ in range(repeats):
        n_seq = n_steps = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / repeats or n_seq < 4 * batch_size:
            x, y, mask = batches[i % len(batches)]
            step(model, opt, x, y, mask)
            n_seq += batch_size
            n_steps += x.shape[0] * batch_size
            i += 1
        # per unrolled step, so that windows over shorter or longer sequences compare
        per_step.append((time.perf_counter() - start) / n_steps)
        n_seq_all += n_seq
        n_steps_all += n_steps
    mean_t = n_steps_all / n_seq_all
    return min(per_step) * mean_t, float(np.median(per_step)) * mean_t, mean_t


def step(model, opt, x, y, mask):
    logits, cache = model.forward(x)
    loss, lc = sigmoid_cross_entropy_forward(logits, y, mask)
    grads = model.backward(sigmoid_cross_entropy_backward(1.0, lc)[0], cache)
    opt.step(model.params, clip_elementwise(grads))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="time per configuration")
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed windows per configuration; the best and the median are shown")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--implementations", "--steps", dest="steps", nargs="+",
                    default=["fused", "reference"], choices=["fused", "reference"],
                    help="the implementations of the NTM's time step to time (--steps: "
                    "their former name)")
    args = ap.parse_args()
    print("copy task, LSTM 100, memory 128 x 20, 1 read + 1 write head, Adam, one BLAS thread")
    print(f"best of {args.repeats} windows (median in brackets)")
    print(f"{'step':>9} {'dtype':>8} {'batch':>6} {'ms/seq':>17} {'ms/step':>8} {'seq/s':>15} "
          f"{'mean T':>7}")
    with single_blas_thread():
        for step_name in args.steps:
            for dtype in args.dtypes:
                for b in args.batch_sizes:
                    best, median, mean_t = measure(b, np.dtype(dtype), args.seconds,
                                                   args.repeats, step_name=step_name)
                    print(f"{step_name:>9} {dtype:>8} {b:>6} {best * 1e3:7.3f} ({median * 1e3:7.3f}) "
                          f"{best * 1e3 / mean_t:8.4f} {1 / best:6.0f} ({1 / median:6.0f}) "
                          f"{mean_t:7.1f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()

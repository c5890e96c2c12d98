"""Training speed with the batch of each update shared by 1, 2, ... processes
(``ntm-numpy train --workers N``, :mod:`ntm_numpy.training.parallel`): sequences per second.

One "sequence" is a full training update's share, as in ``train_speed.py``: forward,
loss, backward, clipping and the Adam step, here through
:class:`ntm_numpy.training.parallel.BatchWorkers`. The configurations (``--config``) are built from
training commands: ``copy`` from the default run's, ``ngrams`` (256 memory rows) and
``priority_sort`` (feed-forward controller of 512 units, 4 read and 4 write heads) from
the shipped models' (:data:`ntm_numpy.pretrained.PRETRAINED`), at batch size 16 in
float32, the fused step. Each figure is the best of several timed
windows, the median beside it. Run it on an otherwise idle machine: with ``--workers 2``
the second core does half of every update.

    python benchmarks/workers_speed.py --config ngrams         # about a minute
    python benchmarks/workers_speed.py --config copy --workers 1 2 --seconds 20
"""
import argparse
import dataclasses
import os
import time

import numpy as np

from ntm_numpy.cli import train_config_from_command
from ntm_numpy.optim import Adam, clip_elementwise, clip_global_norm
from ntm_numpy.pretrained import PRETRAINED
from ntm_numpy.training.parallel import BatchWorkers
from ntm_numpy.training.threads import single_blas_thread

#: The training command of each configuration: the default run, and the shipped models'.
CONFIGS = {
    "copy": "ntm-numpy train copy",
    "ngrams": PRETRAINED["ngrams"].command,
    "priority_sort": PRETRAINED["priority_sort"].command,
}


def measure(config, workers, seconds, repeats=5, batches=32):
    """Sequences per second (best window, median window) of training updates."""
    model = config.make_model()
    task = config.make_task()
    rng = np.random.default_rng(0)
    data = [task.batch(rng, config.batch_size, dtype=model.dtype) for _ in range(batches)]
    opt = Adam(lr=1e-4)
    rates = []
    with single_blas_thread(), BatchWorkers(model, workers) as gradients_of:
        def update(i):
            x, y, mask = data[i % batches]
            _, _, grads = gradients_of(x, y, mask)
            grads, _ = clip_global_norm(clip_elementwise(grads, config.clip), config.clip_norm)
            opt.step(model.params, grads)

        update(0)  # warm-up (and the workers' start)
        i = 1
        for _ in range(repeats):
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / repeats or n < 2:
                update(i)
                i += 1
                n += 1
            rates.append(n * config.batch_size / (time.perf_counter() - start))
    return max(rates), float(np.median(rates))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="copy")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=15.0, help="time per worker count")
    ap.add_argument("--repeats", type=int, default=5, help="timed windows per worker count")
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()
    config = dataclasses.replace(train_config_from_command(CONFIGS[args.config]),
                                 batch_size=args.batch_size, implementation="fused",
                                 workers=1)
    print(f"{args.config}: batch {config.batch_size}, float32, fused step, {os.cpu_count()} "
          f"cores; best of {args.repeats} windows (median in brackets)")
    base = None
    for n in args.workers:
        best, median = measure(config, n, args.seconds, args.repeats)
        base = base or best
        print(f"workers {n}: {best:8.1f} ({median:8.1f}) sequences/s, {best / base:.2f} times "
              f"the first", flush=True)


if __name__ == "__main__":
    main()

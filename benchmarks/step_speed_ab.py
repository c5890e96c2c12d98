"""The training update of the fused step at a git commit against the working tree's, in
one process: CPU time per sequence, in alternating windows over the same batches.

Timing two commits one after the other (``train_speed.py`` at each) compares them under
whatever else the machine runs at each moment; here the two alternate window by window
in one process, so that both see the same load. The commit's ``fused_step.py``,
``cell.py`` and ``model.py`` are read with ``git show`` and loaded beside the working
tree's package (so the commit must have ``ntm_numpy/cell.py``: 0abe52a or later); each
side trains its own model (seed 0, float32, Adam) on the same batches of the task.

    python benchmarks/step_speed_ab.py d5c1c28                  # copy, batch 16, ~1 min
    python benchmarks/step_speed_ab.py d5c1c28 --batch-size 64 --rounds 16
"""
import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
from train_speed import step as update  # one training update, as train_speed.py times it

import ntm_numpy
from ntm_numpy import NTM
from ntm_numpy.optim import Adam
from ntm_numpy.tasks import get_task
from ntm_numpy.training.threads import single_blas_thread

ROOT = Path(ntm_numpy.__file__).resolve().parent.parent


def load_at(commit, name):
    """Module ``ntm_numpy.NAME`` as it was at ``commit``, as ``ntm_numpy._at_commit_NAME``."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:ntm_numpy/{name}.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"ntm_numpy._at_commit_{name}")
    module.__package__, module.__file__ = "ntm_numpy", f"{commit}:ntm_numpy/{name}.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


def model_at(commit):
    """The NTM class of ``commit``, running that commit's fused step and cell."""
    fused, cell, model = (load_at(commit, n) for n in ("fused_step", "cell", "model"))
    model.NTMCell = cell.NTMCell
    model.IMPLEMENTATIONS = dict(model.IMPLEMENTATIONS, fused=fused)
    return model.NTM


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("commit", help="the commit to compare the working tree with")
    ap.add_argument("--task", default="copy")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=40, help="windows of each side")
    args = ap.parse_args()
    task = get_task(args.task)
    classes = {args.commit: model_at(args.commit), "working tree": NTM}
    runs = {k: (cls(task.input_size, task.output_size, dtype=np.float32, seed=0,
                    implementation="fused"), Adam(lr=1e-3)) for k, cls in classes.items()}
    rng = np.random.default_rng(0)
    batches = [task.batch(rng, args.batch_size, dtype=np.float32) for _ in range(8)]
    seconds = {k: [] for k in runs}
    with single_blas_thread():
        for k in runs:  # warm-up
            for b in batches[:2]:
                update(*runs[k], *b)
        for r in range(args.rounds):
            for k in (list(runs) if r % 2 else list(runs)[::-1]):
                start = time.process_time()
                for b in batches:
                    update(*runs[k], *b)
                seconds[k].append(time.process_time() - start)
    per_seq = {k: np.median(v) * 1e3 / (len(batches) * args.batch_size) for k, v in seconds.items()}
    old, new = (np.array(v) for v in seconds.values())
    print(f"{args.task}, batch {args.batch_size}, float32, {args.rounds} windows each, CPU time")
    for k, ms in per_seq.items():
        print(f"  {k:>14}: {ms:.3f} ms per sequence (median window)")
    print(f"  working tree / {args.commit}: {np.median(new / old):.3f} (median of the "
          f"windows' ratios), {np.median(new) / np.median(old):.3f} (ratio of the medians)")


if __name__ == "__main__":
    main()

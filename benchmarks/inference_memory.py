"""Peak memory of inference on long sequences: caching forward versus ``predict``.

For each copy length L (sequences of T = 2L + 1 steps) and each way of running the
model, a fresh Python process loads the shipped copy model
(``ntm_numpy.pretrained.load_pretrained("copy")``: 128 x 20 memory, 100 LSTM units,
float32), draws one evaluation batch of 32 sequences the way ``evaluate`` does, and runs
it once:

* ``forward``: ``model.forward(x)``, which keeps every step's backward caches (what
  ``evaluate`` did before ``predict`` existed);
* ``predict``: ``model.predict(x)``, no caches, the output layer step by step;

with each implementation of the NTM's time step (``--implementation``: "reference", the
primitives, which a loaded model runs by default, and "fused").

Each row gives the process's resident memory before the run (interpreter, NumPy, model
and the batch), its peak (``VmHWM``, the high-water mark of the resident set) and the
difference, with the size of the batch's inputs and logits for comparison, and the time.
The caching forward is skipped above ``--forward-max`` (default 1000: at 10,000 it
would need about 22 GB).

    python benchmarks/inference_memory.py                   # lengths 120, 1000, 10000
    python benchmarks/inference_memory.py --lengths 120 400 --forward-max 400
"""
import argparse
import json
import subprocess
import sys
import time


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(mode, length, batch_size, seed, step):
    """Run one measurement in this process; print a JSON line."""
    import numpy as np

    from ntm_numpy.pretrained import load_pretrained
    from ntm_numpy.tasks import get_task
    from ntm_numpy.training.threads import single_blas_thread

    model = load_pretrained("copy")
    model.implementation = step
    task = get_task("copy")
    rng = np.random.default_rng([seed, length])
    x, y, mask = task.batch(rng, batch_size, length=length, dtype=model.dtype)
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    with single_blas_thread():
        if mode == "forward":
            logits, cache = model.forward(x)
        else:
            logits = model.predict(x)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    io_mib = (x.nbytes + logits.nbytes) / 2**20
    print(json.dumps(dict(mode=mode, step=step, length=length, steps=x.shape[0],
                          before_mib=before / 1024, peak_mib=peak / 1024, io_mib=io_mib,
                          seconds=seconds)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[120, 1000, 10000])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--forward-max", type=int, default=1000,
                        help="longest length run with the caching forward")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--implementation", "--step", dest="step", nargs="+",
                        choices=("reference", "fused"), default=["reference", "fused"],
                        help="the implementations of the NTM's time step to measure "
                        "(--step: their former name)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "LENGTH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.batch_size, args.seed, args.step[0])
        return 0
    print(f"copy model, batch {args.batch_size}, float32; resident memory in MiB")
    print(f"{'length':>7} {'T':>6} {'step':>9} {'mode':>8} {'before':>7} {'peak':>7} "
          f"{'growth':>7} {'in+out':>7} {'seconds':>8}")
    for length in args.lengths:
        for step in args.step:
            for mode in ("forward", "predict"):
                head = f"{length:>7} {2 * length + 1:>6} {step:>9} {mode:>8}"
                if mode == "forward" and length > args.forward_max:
                    print(f"{head}   skipped (--forward-max {args.forward_max})")
                    continue
                out = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(length), "--batch-size",
                     str(args.batch_size), "--seed", str(args.seed), "--implementation", step],
                    capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{head} {r['before_mib']:7.0f} {r['peak_mib']:7.0f} "
                      f"{r['peak_mib'] - r['before_mib']:7.0f} {r['io_mib']:7.1f} "
                      f"{r['seconds']:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

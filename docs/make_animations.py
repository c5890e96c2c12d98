"""Write the animation shown in the README, ``docs/images/copy_memory.gif``.

The shipped copy model (``ntm_numpy.pretrained``) writes a sequence of 10 random 8-bit
vectors into its memory, then reads it back; one frame per time step. Run from the
top of the repository::

    python docs/make_animations.py
"""
import pathlib

import numpy as np

from ntm_numpy import plotting
from ntm_numpy.pretrained import load_pretrained
from ntm_numpy.tasks import get_task

OUT = pathlib.Path(__file__).resolve().parent / "images" / "copy_memory.gif"
LENGTH, SEED = 10, 0


def main():
    model = load_pretrained("copy")
    x, y, mask = get_task("copy").batch(np.random.default_rng(SEED), 1, length=LENGTH,
                                        dtype=model.dtype)
    logits, cache = model.forward(x)
    trace = cache.trace()
    # the rows the heads visit (weighting above 0.1 at some step), with a margin
    visited = np.nonzero((trace.weights[:, :, 0] > 0.1).any(axis=(0, 1)))[0]
    rows = (max(0, int(visited.min()) - 2), min(trace.weights.shape[-1], int(visited.max()) + 4))
    anim = plotting.animate_memory(trace, x=x, logits=logits, mask=mask, rows=rows, fps=3)
    path = plotting.save_animation(anim, OUT, dpi=64)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, rows {rows[0]}..{rows[1] - 1})")


if __name__ == "__main__":
    main()

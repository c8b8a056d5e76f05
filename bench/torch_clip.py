"""PyTorch side of bench/core.bench.ts and bench/tfjs.bench.ts: times
torch.nn.utils.clip_grad_norm_ on the GPT-2-small gradient shapes, driven over
stdin/stdout so that the TypeScript bench can interleave its rounds with ours.

Usage: torch_clip.py SHAPES.json [PREFIX]   (PREFIX, e.g. "h.": only the
shapes whose names start with it)

Protocol (one JSON object per output line):
  start   -> {"ready": true, "torch": version, "threads": n}
             or {"error": "..."} (then exits 0: the bench skips the column)
  "run K" -> {"ms": [K times in milliseconds]}
  "quit"  -> exits
Clipping is active on every call (max_norm = half the current norm), and the
gradients are rescaled by an exact power of two, untimed, whenever they get
small, so they never drift into subnormals.
"""
import json
import sys
import time
from types import SimpleNamespace


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    try:
        import torch
        from torch.nn.utils import clip_grad_norm_
    except Exception as e:  # noqa: BLE001 - any import failure means "no torch"
        say({"error": f"torch is not importable ({type(e).__name__}: {e})"})
        return
    with open(sys.argv[1]) as f:
        prefix = sys.argv[2] if len(sys.argv) > 2 else ""
        shapes = [s["shape"] for s in json.load(f)["shapes"] if s["name"].startswith(prefix)]
    gen = torch.Generator().manual_seed(0)
    # clip_grad_norm_ reads only `.grad`: plain holders avoid allocating parameters too.
    params = [SimpleNamespace(grad=torch.rand(s, generator=gen) + 0.5) for s in shapes]
    norm = float(clip_grad_norm_(params, float("inf")))
    say({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        times = []
        for _ in range(int(cmd[1])):
            if norm < 1024.0:  # untimed, exact: keeps values far from subnormals
                for p in params:
                    p.grad.mul_(2.0 ** 20)
                norm *= 2.0 ** 20
            max_norm = norm * 0.5
            t = time.perf_counter()
            clip_grad_norm_(params, max_norm)
            times.append((time.perf_counter() - t) * 1000)
            norm = max_norm
        say({"ms": times})


if __name__ == "__main__":
    main()

"""How far gradclip's and PyTorch's clip_grad_norm_ results are from each
other, and from the exact value, in float32 ulps (README, "Differences from
PyTorch", item 5).

For every clipGradNorm_ case of the shared conformance data whose gradients
are all float32 and whose norm is finite, this clips the same data with the
installed PyTorch (torch.nn.utils.clip_grad_norm_) and with gradclip
(scripts/pytorch-ulps-gradclip.ts), computes the exact result
g * min(1, maxNorm / (||g||_p + 1e-6)) with mpmath at 60 digits, and prints,
per case and in total, the largest distance in float32 ulps between the two
and whichever is closer to the exact value.

Run from packages/gradclip: python3 scripts/pytorch-ulps.py [conformance.json]
"""
import json
import struct
import subprocess
import sys

import mpmath
import torch

mpmath.mp.dps = 60
path = sys.argv[1] if len(sys.argv) > 1 else "../../../shared/conformance/pytorch-clip-grad.json"
fixture = json.load(open(path))


def num(x):
    return float(x) if isinstance(x, str) else x


def f32_order(x):
    """An integer that orders float32 values, one step per ulp."""
    (i,) = struct.unpack("<i", struct.pack("<f", x))
    return i if i >= 0 else -(i & 0x7FFFFFFF)


def ulps(a, b):
    return abs(f32_order(a) - f32_order(b))


def f32_ulp(x):
    """The spacing of float32 values at |x| (the gap to the next one away from zero)."""
    (i,) = struct.unpack("<i", struct.pack("<f", float(abs(x))))
    (up,) = struct.unpack("<f", struct.pack("<i", i + 1))
    (at,) = struct.unpack("<f", struct.pack("<i", i))
    return mpmath.mpf(up) - mpmath.mpf(at)


def error_ulps(got, exact):
    """|got - exact| in float32 ulps at the exact value (the largest over a case's elements)."""
    return max((abs(mpmath.mpf(x) - e) / f32_ulp(e) for x, e in zip(got, exact)), default=mpmath.mpf(0))


cases = []
for c in fixture["cases"]:
    specs = [g for g in c["grads"] if g is not None]
    if c["fn"] != "clipGradNorm_" or not specs or any(g["dtype"] != "float32" for g in specs):
        continue
    data = [[num(x) for x in g["data"]] for g in specs]
    values = [x for g in data for x in g]
    if not all(mpmath.isfinite(x) for x in values):
        continue
    p = num(c.get("normType", 2.0))
    cases.append({"kind": c["kind"], "data": data, "maxNorm": num(c["maxNorm"]), "p": p})

def jsonable(x):
    return "inf" if x == float("inf") else x


request = [{"grads": c["data"], "maxNorm": c["maxNorm"], "normType": jsonable(c["p"])} for c in cases]
ours = json.loads(subprocess.run(
    ["node", "--import", "tsx", "scripts/pytorch-ulps-gradclip.ts"],
    # JSON has no Infinity (a maxNorm may be one): 1e999, which JSON.parse reads as Infinity.
    input=json.dumps(request).replace("Infinity", "1e999"), capture_output=True, text=True, check=True,
).stdout)

worst = 0
worst_ours = worst_torch = mpmath.mpf(0)
closer = {"gradclip": 0, "pytorch": 0, "tie": 0}
differing = 0
for c, mine in zip(cases, ours):
    tensors = [torch.tensor(g, dtype=torch.float32) for g in c["data"]]
    for t in tensors:
        t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(tensors, c["maxNorm"], norm_type=c["p"])
    theirs = [t.grad.tolist() for t in tensors]
    exact_values = [mpmath.mpf(float(struct.unpack("<f", struct.pack("<f", x))[0])) for g in c["data"] for x in g]
    if c["p"] == float("inf"):
        total = max(abs(x) for x in exact_values)
    else:
        total = mpmath.power(mpmath.fsum(mpmath.power(abs(x), c["p"]) for x in exact_values), 1 / mpmath.mpf(c["p"]))
    coef = min(mpmath.mpf(1), mpmath.mpf(c["maxNorm"]) / (total + mpmath.mpf(1e-6)))
    a = [x for g in mine for x in g]
    b = [x for g in theirs for x in g]
    case_ulps = max((ulps(x, y) for x, y in zip(a, b)), default=0)
    worst = max(worst, case_ulps)
    exact = [e * coef for e in exact_values]
    err_ours = error_ulps(a, exact)
    err_torch = error_ulps(b, exact)
    worst_ours = max(worst_ours, err_ours)
    worst_torch = max(worst_torch, err_torch)
    if case_ulps > 0:
        differing += 1
        closer["gradclip" if err_ours < err_torch else "pytorch" if err_torch < err_ours else "tie"] += 1
    print(f"{c['kind']:>24}  p={c['p']:<8g} {case_ulps:>3} ulps apart; largest error in ulps: gradclip {mpmath.nstr(err_ours, 3):>6}, PyTorch {mpmath.nstr(err_torch, 3):>6}")

print(f"\nPyTorch {torch.__version__}: {len(cases)} float32 cases, {differing} differ; "
      f"at most {worst} float32 ulps apart; of those that differ, closer to the exact value (largest error in ulps): "
      f"gradclip in {closer['gradclip']}, PyTorch in {closer['pytorch']}, tied in {closer['tie']}; "
      f"largest error: gradclip {mpmath.nstr(worst_ours, 3)} ulps, PyTorch {mpmath.nstr(worst_torch, 3)} ulps.")

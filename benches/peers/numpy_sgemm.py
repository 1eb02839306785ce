#!/usr/bin/env python3
"""SGEMM peers: numpy (OpenBLAS) and PyTorch CPU (MKL or oneDNN), optionally
side by side with `s2s bench matmul`, interleaved in rounds.

    python3 benches/peers/numpy_sgemm.py                       # numpy + torch, 1 and 2 threads
    python3 benches/peers/numpy_sgemm.py --s2s target/release/s2s --rounds 7
    python3 benches/peers/numpy_sgemm.py --shapes 1024x1024x1024 --threads 2 --json peers.json

Notes
* OpenBLAS picks its kernel from the CPU unless OPENBLAS_CORETYPE says
  otherwise, and OPENBLAS_L2_SIZE changes its blocking: both must be unset for
  numpy's best kernel. This script re-executes itself without them and prints
  the kernel threadpoolctl reports (e.g. "SkylakeX").
* The machine is noisy: every round times every contender on every shape
  once, and the table shows medians over rounds, plus ratios to s2s.
* Records in --json use the `s2s bench` format, with "impl" added.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SQUARE = [64, 128, 256, 512, 1024, 2048]
MODEL = [(64, 768, 256), (64, 1024, 256), (64, 5000, 512),
         (1280, 1024, 256), (1280, 256, 1024), (1280, 5000, 256)]


def reexec_without_openblas_overrides():
    bad = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    if bad and os.environ.get("S2S_PEERS_REEXEC") != "1":
        print(f"note: unsetting {', '.join(bad)} so OpenBLAS picks its best kernel",
              file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if k not in bad}
        env["S2S_PEERS_REEXEC"] = "1"
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def time_call(f, sample_s):
    f()  # warm-up
    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-7)
    reps = max(1, min(100000, int(sample_s / once)))
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def main():
    reexec_without_openblas_overrides()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="", help="MxNxK,... (default: the 12 benchmark shapes)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sample-ms", type=float, default=30.0)
    ap.add_argument("--s2s", default="", help="path to the s2s binary: also run `s2s bench matmul` each round")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    import numpy as np
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        sys.exit("needs threadpoolctl: pip install numpy threadpoolctl torch")
    torch = None
    if not args.no_torch:
        try:
            import torch  # noqa: F811
        except ImportError:
            print("note: torch not installed; skipping PyTorch", file=sys.stderr)

    if args.shapes:
        shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
    else:
        shapes = [(s, s, s) for s in SQUARE] + MODEL
    threads = [int(t) for t in args.threads.split(",")]
    sample = args.sample_ms / 1e3

    print(f"numpy {np.__version__}")
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            print(f"  BLAS: {pool.get('internal_api')} {pool.get('version')}, "
                  f"kernel (architecture) {pool.get('architecture')}, "
                  f"threading {pool.get('threading_layer')}, {pool.get('filepath')}")
    if torch is not None:
        print(f"torch {torch.__version__}: MKL available {torch.backends.mkl.is_available()}, "
              f"mkldnn {torch.backends.mkldnn.is_available()}")

    rng = np.random.default_rng(0)
    data = {}
    for (m, n, k) in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        entry = {"numpy": (lambda a=a, b=b, c=c: np.matmul(a, b, out=c))}
        if torch is not None:
            ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c.copy())
            entry["torch"] = (lambda ta=ta, tb=tb, tc=tc: torch.matmul(ta, tb, out=tc))
        data[(m, n, k)] = entry
    names = list(next(iter(data.values())).keys()) + (["s2s"] if args.s2s else [])

    records = []
    for t in threads:
        secs = {(s, nm): [] for s in shapes for nm in names}
        for _ in range(args.rounds):
            with threadpool_limits(limits=t, user_api="blas"):
                if torch is not None:
                    torch.set_num_threads(t)
                for s in shapes:
                    for nm, f in data[s].items():
                        secs[(s, nm)].append(time_call(f, sample))
            if args.s2s:
                with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                    cmd = [args.s2s, "bench", "matmul", "--threads", str(t), "--rounds", "1",
                           "--sample-ms", str(int(args.sample_ms)), "--json", tmp.name,
                           "--shapes", ",".join(f"{m}x{n}x{k}" for (m, n, k) in shapes)]
                    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                    for line in open(tmp.name):
                        r = json.loads(line)
                        if r["kernel"] == "matmul":
                            secs[(tuple(r["shape"]), "s2s")].append(r["seconds"])
        print(f"\nthreads {t}: GFLOP/s, median of {args.rounds} interleaved rounds")
        header = f"{'M x N x K':>16}" + "".join(f" {nm:>9}" for nm in names)
        if args.s2s:
            header += "".join(f" {'s2s/' + nm:>11}" for nm in names if nm != "s2s")
        print(header)
        for s in shapes:
            flops = 2.0 * s[0] * s[1] * s[2]
            g = {nm: flops / statistics.median(secs[(s, nm)]) / 1e9 for nm in names}
            line = f"{'x'.join(map(str, s)):>16}" + "".join(f" {g[nm]:>9.1f}" for nm in names)
            if args.s2s:
                line += "".join(f" {g['s2s'] / g[nm]:>11.2f}" for nm in names if nm != "s2s")
            print(line)
            for nm in names:
                sec = statistics.median(secs[(s, nm)])
                records.append({"kernel": "matmul", "device": "cpu", "shape": list(s),
                                "threads": t, "seconds": sec, "gflops": flops / sec / 1e9,
                                "gbps": 4.0 * (s[0] * s[2] + s[2] * s[1] + s[0] * s[1]) / sec / 1e9,
                                "impl": nm})
    if args.json:
        with open(args.json, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()

"""tapegrad against PyTorch, JAX, TensorFlow and a hand-written NumPy floor, on 2 CPU threads.

    python benchmarks/run.py [--workloads mlp32,tinytape] [--rounds 3] [--repeats 5] [--quick]

Every (framework, workload) runs in its own subprocess, with the right interpreter: tapegrad and
the NumPy floor with this one (the repository's NumPy), the peers with their virtualenv's (see
benchmarks/README.md). Frameworks are interleaved round-robin over the rounds, the starting
framework rotating, so slow drift and noise from other processes hit all of them alike. The
table shows the median over all timed repeats of all rounds; raw times go to
benchmarks/results/. A peer that is not installed is left out with a note. Nothing is installed.

Each run also records how much CPU other processes took while it ran; a cell marked `*` had
more than 15% of the machine taken from it, so its number is inflated.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
RESULTS = os.path.join(HERE, "results")

# key, column header, script, extra arguments, interpreter ("main" or a peer venv's suffix)
FRAMEWORKS = [
    ("tapegrad", "tapegrad", "bench_tapegrad.py", [], "main"),
    ("numpy", "numpy floor", "bench_numpy.py", [], "main"),
    ("torch", "torch", "bench_torch.py", [], "torch"),
    ("jax", "jax jit", "bench_jax.py", [], "jax"),
    ("tf_eager", "tf eager", "bench_tf.py", ["--variant", "eager"], "tf"),
    ("tf_function", "tf.function", "bench_tf.py", ["--variant", "function"], "tf"),
]
WORKLOADS = ["mlp32", "mlp1024", "mlp001", "cnn32", "cnn256", "tinytape", "fitepoch"]
UNITS = {"tinytape": "us", "fitepoch": "s", "opchain": "us/op", "opchain_notape": "us/op",
         "opchain_grad": "us/call"}
THREAD_ENV = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
              "TF_NUM_INTRAOP_THREADS": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
BUSY = 0.15          # other processes' share of the CPUs above which a run is marked


def interpreter(kind):
    """The Python that runs a framework: BENCH_PYTHON_<KIND>, its own venv, the shared venv."""
    if kind == "main":
        return sys.executable
    env = os.environ.get(f"BENCH_PYTHON_{kind.upper()}")
    if env:
        return env
    for venv in (f".venv-bench-{kind}", ".venv-bench"):
        path = os.path.join(REPO, venv, "bin", "python")
        if os.path.exists(path):
            return path
    return sys.executable


def child_env():
    env = dict(os.environ)
    env.update(THREAD_ENV)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cpu_busy_seconds():
    """Seconds of CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_for_idle(limit_s, threshold=0.25):
    """Wait (at most limit_s) until other processes use less than `threshold` of the CPUs."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        b0, t0 = cpu_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        if b0 is None or (cpu_busy_seconds() - b0) / ((time.monotonic() - t0) *
                                                       (os.cpu_count() or 1)) < threshold:
            return


def run_script(fw, workload, args, extra=()):
    """Run one framework's script once; returns its JSON record (with `error` on failure)."""
    key, _, script, fw_args, kind = fw
    cmd = [interpreter(kind), os.path.join(PEERS, script), "--json", *fw_args, *extra]
    if getattr(args, "device", "cpu") == "gpu" and workload is not None:
        cmd += ["--device", "gpu"]
    if workload is not None:
        repeats = args.fit_repeats if workload == "fitepoch" else args.repeats
        cmd += ["--workload", workload, "--repeats", str(repeats)]
        if args.quick:
            cmd.append("--quick")
    busy0, mine0, t0 = cpu_busy_seconds(), children_cpu_seconds(), time.monotonic()
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True,
                              env=child_env(), timeout=args.timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"framework": key, "workload": workload, "error": f"timed out ({args.timeout}s)"}
    wall = time.monotonic() - t0
    rec = None
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            rec = json.loads(line)
            break
    if rec is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"framework": key, "workload": workload, "returncode": proc.returncode,
                "error": " | ".join(tail) or f"exit {proc.returncode}, no output"}
    rec["framework"] = key
    if busy0 is not None:
        foreign = (cpu_busy_seconds() - busy0) - (children_cpu_seconds() - mine0)
        rec["foreign_cpu"] = round(max(0.0, foreign) / (wall * (os.cpu_count() or 1)), 3)
    rec["wall_s"] = round(wall, 2)
    return rec


def available(frameworks, args):
    """Ask each framework's script for its version; returns (usable, notes)."""
    usable, notes = [], []
    for fw in frameworks:
        rec = run_script(fw, None, args, extra=["--check"])
        if "version" in rec:
            usable.append(fw)
            notes.append(f"{fw[0]} {rec['version']} ({interpreter(fw[4])})")
        else:
            notes.append(f"{fw[0]}: not run: {rec.get('skipped') or rec.get('error')}")
    return usable, notes


def run_rounds(frameworks, workloads, args, log=print):
    """All runs, round-robin; returns {(framework, workload): [records]}."""
    runs = {}
    for r in range(args.rounds):
        for workload in workloads:
            shift = (r + workloads.index(workload)) % len(frameworks)
            for fw in frameworks[shift:] + frameworks[:shift]:
                rec = None
                for _ in range(1 + args.retry_busy):     # a run disturbed by others: again
                    if args.idle_wait:
                        wait_for_idle(args.idle_wait)
                    new = run_script(fw, workload, args)
                    if rec is None or new.get("foreign_cpu", 0) < rec.get("foreign_cpu", 0):
                        rec = new
                    if rec.get("foreign_cpu", 0) <= BUSY:
                        break
                runs.setdefault((fw[0], workload), []).append(rec)
                log(f"  round {r + 1}/{args.rounds} {workload:14s} {fw[0]:12s} "
                    + describe(rec))
    return runs


def describe(rec):
    if "times" in rec:
        busy = rec.get("foreign_cpu", 0)
        return (f"median {statistics.median(rec['times']):.4g} {rec['unit']}"
                + (f"  (others took {busy:.0%} of the CPUs)" if busy > BUSY else ""))
    return "skipped: " + rec["skipped"] if "skipped" in rec else "ERROR: " + rec["error"]


def summarize(runs):
    """{(framework, workload): {median, n, busy, rss, note}} over all rounds."""
    out = {}
    for key, recs in runs.items():
        times = [t for rec in recs for t in rec.get("times", [])]
        if times:
            out[key] = {"median": statistics.median(times), "n": len(times),
                        "min": min(times), "unit": recs[0]["unit"],
                        "round_medians": [statistics.median(rec["times"]) if rec.get("times")
                                          else None for rec in recs],
                        "busy": max(rec.get("foreign_cpu", 0) for rec in recs if "times" in rec),
                        "peak_rss_mb": max(rec.get("peak_rss_mb", 0) for rec in recs)}
        else:
            rec = recs[-1]
            out[key] = {"note": rec.get("skipped") and "n/a" or "error",
                        "why": rec.get("skipped") or rec.get("error")}
    return out


def fmt(value):
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def cell(summary, key):
    s = summary.get(key)
    if s is None:
        return "—"
    if "median" not in s:
        return s["note"]
    return fmt(s["median"]) + ("*" if s["busy"] > BUSY else "")


def ratio(summary, a, b):
    """a's median over b's, and with several rounds the lowest and highest ratio of one round's
    medians (the two ran minutes apart, not hours): how far the machine's noise moves it."""
    sa, sb = summary.get(a, {}), summary.get(b, {})
    if "median" not in sa or "median" not in sb or sb["median"] <= 0:
        return "—"
    text = f"{sa['median'] / sb['median']:.2f}x"
    per_round = [x / y for x, y in zip(sa.get("round_medians", []), sb.get("round_medians", []))
                 if x is not None and y]
    if len(per_round) > 1:
        text += f" ({min(per_round):.2f}–{max(per_round):.2f})"
    return text


def table(summary, workloads, samples_note=""):
    cols = [fw for fw in FRAMEWORKS]
    head = ["workload"] + [fw[1] for fw in cols] + ["tapegrad/torch", "tapegrad/floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        unit = UNITS.get(w, "ms")
        label = f"{w} ({unit}{samples_note if w == 'fitepoch' else ''})"
        row = [label] + [cell(summary, (fw[0], w)) for fw in cols]
        row += [ratio(summary, ("tapegrad", w), ("torch", w)),
                ratio(summary, ("tapegrad", w), ("numpy", w))]
        lines.append("| " + " | ".join(row) + " |")
    if "fitepoch" in workloads:
        rss = [f"{fw[1]} {summary[(fw[0], 'fitepoch')]['peak_rss_mb']:.0f}"
               for fw in cols if "median" in summary.get((fw[0], "fitepoch"), {})]
        if rss:
            lines.append("")
            lines.append("fitepoch peak RSS (MB, whole process): " + ", ".join(rss))
    return "\n".join(lines)


def save(payload, name="bench"):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    return path


def parse_args(argv=None, default_workloads=WORKLOADS):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default=",".join(default_workloads),
                   help="comma-separated (default: %(default)s)")
    p.add_argument("--frameworks", default=",".join(fw[0] for fw in FRAMEWORKS),
                   help="comma-separated subset of: %(default)s")
    p.add_argument("--rounds", type=int, default=3, help="round-robin rounds (default 3)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per run (default 5)")
    p.add_argument("--fit-repeats", type=int, default=1, help="epochs timed per fitepoch run")
    p.add_argument("--quick", action="store_true",
                   help="1 round, 3 repeats, shorter repeats, fitepoch on 6,400 samples")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per run (default 1800)")
    p.add_argument("--idle-wait", type=float, default=0.0,
                   help="before each run, wait up to this many seconds for other processes "
                        "to leave the CPUs (default 0: don't wait)")
    p.add_argument("--retry-busy", type=int, default=0,
                   help="run again, up to this many times, a run during which other processes "
                        "took more than 15%% of the CPUs; the least disturbed run is kept")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="gpu: tapegrad on CuPy against PyTorch on CUDA, the training steps only "
                        "(default workloads mlp1024,cnn256)")
    args = p.parse_args(argv)
    if args.device == "gpu":
        if args.workloads == ",".join(default_workloads):
            args.workloads = "mlp1024,cnn256"
        if args.frameworks == ",".join(fw[0] for fw in FRAMEWORKS):
            args.frameworks = "tapegrad,torch"
    if args.quick:
        args.rounds, args.repeats = 1, min(args.repeats, 3)
    args.workloads = [w for w in args.workloads.split(",") if w and w != "numpy_floor"]
    wanted = args.frameworks.split(",")
    unknown = [f for f in wanted if f not in {fw[0] for fw in FRAMEWORKS}]
    if unknown:
        p.error(f"unknown frameworks: {', '.join(unknown)}")
    args.frameworks = [fw for fw in FRAMEWORKS if fw[0] in wanted]
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f"# benchmarks on {platform.machine()} {os.cpu_count()} CPUs, 2 threads each; "
          f"{args.rounds} round(s) x {args.repeats} repeats", flush=True)
    frameworks, notes = available(args.frameworks, args)
    for note in notes:
        print("#", note, flush=True)
    runs = run_rounds(frameworks, args.workloads, args, log=lambda s: print(s, flush=True))
    summary = summarize(runs)
    samples = ", 6,400 samples" if args.quick else ""
    text = table(summary, args.workloads, samples)
    print()
    print(text)
    if any(s.get("busy", 0) > BUSY for s in summary.values()):
        print(f"\n* other processes took more than {BUSY:.0%} of the CPUs during a run: "
              "that number is inflated (run again on a quiet machine, or with\n"
              "--idle-wait 30 --retry-busy 1).")
    errors = [f"{k[0]}/{k[1]}: {s['why']}" for k, s in summary.items() if s.get("note") == "error"]
    for e in errors:
        print("ERROR", e)
    path = save({"argv": sys.argv[1:], "frameworks": notes, "quick": args.quick,
                 "rounds": args.rounds, "repeats": args.repeats, "cpus": os.cpu_count(),
                 "summary": {f"{k[0]}/{k[1]}": v for k, v in summary.items()},
                 "runs": {f"{k[0]}/{k[1]}": v for k, v in runs.items()}, "table": text})
    print(f"\nresults: {os.path.relpath(path, REPO)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

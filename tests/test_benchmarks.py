"""The benchmark harness's command line (the benchmarks themselves are not timed in tests)."""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_module():
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "benchmarks",
                                                                            "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_runs_compare_tapegrad_on_cupy_with_torch_on_cuda():
    run = _run_module()
    args = run.parse_args(["--device", "gpu"])
    assert args.workloads == ["mlp1024", "cnn256"]
    assert [fw[0] for fw in args.frameworks] == ["tapegrad", "torch"]
    cpu = run.parse_args([])
    assert "tinytape" in cpu.workloads and len(cpu.frameworks) > 2


def test_the_tapegrad_gpu_row_skips_cleanly_without_a_gpu():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "peers",
                                                        "bench_tapegrad.py"),
                           "--workload", "mlp1024", "--device", "gpu", "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    if "cupy" in sys.modules or proc.returncode == 0 and '"times"' in proc.stdout:
        return  # a machine with a GPU ran it
    assert "no GPU" in proc.stdout + proc.stderr

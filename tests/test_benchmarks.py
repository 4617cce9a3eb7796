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


def test_a_ratio_cell_brackets_the_lowest_and_highest_ratio_of_one_rounds_medians():
    run = _run_module()
    runs = {("tapegrad", "cnn32"): [{"times": [9.0, 11.0, 10.0], "unit": "ms"},
                                    {"times": [12.0], "unit": "ms"},
                                    {"skipped": "not this round"}],
            ("torch", "cnn32"): [{"times": [10.0], "unit": "ms"},
                                 {"times": [8.0], "unit": "ms"},
                                 {"times": [9.0], "unit": "ms"}]}
    summary = run.summarize(runs)
    # medians over all times: 10.5 / 9.0; per round 10/10 and 12/8 (the skipped round is left out)
    assert run.ratio(summary, ("tapegrad", "cnn32"), ("torch", "cnn32")) == "1.17x (1.00–1.50)"
    one_round = run.summarize({k: v[:1] for k, v in runs.items()})
    assert run.ratio(one_round, ("tapegrad", "cnn32"), ("torch", "cnn32")) == "1.00x"

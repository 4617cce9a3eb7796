"""Data parallelism on 2 real MPI ranks: each test runs mpi_worker.py under `mpiexec -n 2`.

Skipped, with the reason, when mpi4py or an mpiexec is missing (pip install 'tapegrad[mpi]').
"""

import json
import os
import signal
import subprocess
import time

import mpi_worker
import numpy
import pytest

from tapegrad.distributed import launcher

AVAILABLE, WHY_NOT = launcher.mpi_available()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason=WHY_NOT)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_worker.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(WORKER)))


def has_keras(*modules):
    import importlib

    try:
        for m in modules:
            importlib.import_module(f"tapegrad.keras.{m}")
    except ImportError:
        return False
    return True


needs_optimizers = pytest.mark.skipif(not has_keras("optimizers"),
                                      reason="tapegrad.keras.optimizers is not there yet")
needs_callbacks = pytest.mark.skipif(not has_keras("callbacks"),
                                     reason="tapegrad.keras.callbacks is not there yet")
needs_fit = pytest.mark.skipif(not has_keras("optimizers", "callbacks"),
                               reason="tapegrad.keras.optimizers/callbacks are not there yet")


def launch(scenario, out, *args, timeout=60, env=None):
    """Run a scenario on 2 ranks; (returncode, output, seconds). Kills the whole job on timeout."""
    return launch_script([WORKER, scenario, str(out), *args], timeout, env)


def launch_script(argv, timeout=60, env=None):
    cmd = launcher.command(2, argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TAPEGRAD_DEVICE": "cpu",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
           **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and the ranks it started
        output, _ = proc.communicate()
        pytest.fail(f"mpiexec -n 2 {' '.join(argv)} did not finish in {timeout} s:\n{output}")
    return proc.returncode, output, time.perf_counter() - start


def run_ok(scenario, out, *args, env=None):
    code, output, _ = launch(scenario, out, *args, env=env)
    assert code == 0, f"mpiexec -n 2 {scenario} {' '.join(args)} failed:\n{output}"


def weights(path):
    with numpy.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len([k for k in f.files if k.startswith("arr_")]))]


@pytest.mark.parametrize("wrap,optimizer", [
    ("tape", "plain"), ("optimizer", "plain"),
    pytest.param("tape", "sgd", marks=needs_optimizers),
    pytest.param("tape", "adam", marks=needs_optimizers),
    pytest.param("optimizer", "adam", marks=needs_optimizers),
])
def test_two_ranks_step_like_one_process_on_the_whole_batch(tmp_path, wrap, optimizer):
    check_step(tmp_path, wrap, optimizer)


def test_with_a_timeout_collectives_poll_and_give_the_same_result(tmp_path):
    check_step(tmp_path, "tape", "plain", env={"TAPEGRAD_MPI_TIMEOUT": "30"})


def check_step(tmp_path, wrap, optimizer, env=None):
    run_ok("step", tmp_path, wrap, optimizer, env=env)
    r0, r1 = weights(tmp_path / "rank0.npz"), weights(tmp_path / "rank1.npz")
    half = len(r0) // 2
    initial, final0, final1 = r0[:half], r0[half:], r1[half:]
    for a, b in zip(r0[:half], r1[:half]):  # broadcast_variables made the starts identical
        numpy.testing.assert_array_equal(a, b)
    expected = mpi_worker.reference_weights(initial, optimizer)
    for got0, got1, want in zip(final0, final1, expected):
        numpy.testing.assert_array_equal(got0, got1)
        numpy.testing.assert_allclose(got0, want, rtol=1e-5, atol=1e-6)
    assert not all(numpy.allclose(a, b) for a, b in zip(initial, final0)), "nothing trained"
    with numpy.load(tmp_path / "rank0.npz") as f:
        assert int(f["calls"]) == mpi_worker.STEPS  # one fused allreduce per step


def test_collectives_on_two_ranks(tmp_path):
    run_ok("collectives", tmp_path)
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for s in seen:
        assert s["average"] == [1.5, 3.0]
        assert s["sum"] == [3, 6]
        assert s["average_false"] == 2.0
        assert s["max"] == [1, 0]
        assert s["allgather"] == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
        assert s["broadcast"] == [1, 11]
        assert s["grouped"] == [[0.5], 1.0]
        # a: both ranks; b: rank 1 only (rank 0 counts as zero); c: nobody, so None.
        assert s["grads"] == {"a": [2.0, 4.0], "b": 2.5, "c": None}
    assert seen[0]["stats_calls"] == seen[1]["stats_calls"]
    for s in seen:  # two ranks on one machine split its elementwise threads
        threads, default, local = s["threads"]
        assert local == 2 and threads == max(1, min(default, 8) // 2)


@needs_callbacks
def test_metric_average_and_warmup_callbacks(tmp_path):
    run_ok("callbacks", tmp_path)
    for r in (0, 1):
        logs = json.loads((tmp_path / f"rank{r}.json").read_text())
        warmup = logs.pop("warmup")
        assert logs == {"loss": 1.5, "accuracy": 0.625, "name": "not a number"}
        # initial_lr / 2 rising linearly to initial_lr over 2 epochs of 2 batches; momentum
        # scaled by new/old lr inside a batch whose lr changed; then left alone.
        lrs = [0.4, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8]
        momenta = [0.45, 1.125, 1.08, 1.05, 0.9, 0.9, 0.9]
        numpy.testing.assert_allclose([lr for lr, _ in warmup], lrs, rtol=1e-6)
        numpy.testing.assert_allclose([m for _, m in warmup], momenta, rtol=1e-6)


@needs_fit
def test_fit_with_distributed_optimizer_and_callbacks(tmp_path):
    run_ok("fit", tmp_path, "adam")
    with numpy.load(tmp_path / "rank0.npz") as f0, numpy.load(tmp_path / "rank1.npz") as f1:
        initial, loss0, loss1 = f0["initial"], f0["loss"], f1["loss"]
    final0, final1 = weights(tmp_path / "rank0.npz"), weights(tmp_path / "rank1.npz")
    model = mpi_worker.build_model(0)
    shapes = [w.shape for w in model.get_weights()]
    offsets = numpy.cumsum([0] + [int(numpy.prod(s)) for s in shapes])
    model.set_weights([initial[a:b].reshape(s) for a, b, s in zip(offsets, offsets[1:], shapes)])
    mpi_worker.compile_model(model, "adam", distributed=False)
    x, y = mpi_worker.fit_data(*mpi_worker.data(), mpi_worker.GLOBAL_BATCH, 2)
    history = model.fit(x, y, epochs=2, batch_size=mpi_worker.GLOBAL_BATCH, shuffle=False,
                        verbose=0)
    numpy.testing.assert_array_equal(loss0, loss1)  # MetricAverageCallback
    numpy.testing.assert_allclose(loss0, history.history["loss"], rtol=1e-5)
    for got0, got1, want in zip(final0, final1, model.get_weights()):
        numpy.testing.assert_array_equal(got0, got1)
        numpy.testing.assert_allclose(got0, want, rtol=1e-5, atol=1e-6)


def test_an_exception_on_one_rank_ends_the_job(tmp_path):
    code, output, seconds = launch("raise", tmp_path, timeout=30)
    assert code != 0
    assert "ValueError: boom on rank 1" in output  # that rank's traceback
    assert "rank 1 of 2 raised ValueError; aborting all ranks" in output
    assert seconds < 20, f"the abort took {seconds:.1f} s"


def test_a_stalled_peer_becomes_a_timeout_error(tmp_path):
    code, output, seconds = launch("stall", tmp_path, timeout=30,
                                   env={"TAPEGRAD_MPI_TIMEOUT": "1.5"})
    assert code != 0
    # which rank reports first depends on scheduling on a loaded machine
    assert "CollectiveTimeoutError: allreduce 'stalled' of 10 float32 values timed out on " \
           "rank" in output, output
    assert "waited 1.5 s" in output, output
    assert seconds < 20, f"the timeout took {seconds:.1f} s to end the job"


@needs_fit
def test_the_mpi_example_trains_on_two_ranks():
    if not os.path.isdir("/usr/share/datasets/fashion-mnist") and not os.path.exists(
            os.path.expanduser("~/.keras/datasets/fashion-mnist")):
        pytest.skip("Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)")
    example = os.path.join(ROOT, "examples", "mpi_fashion_mnist.py")
    code, output, _ = launch_script([example, "--quick"], timeout=120)
    assert code == 0, output
    assert output.count(" - accuracy: ") == 1, f"only rank 0 may print progress:\n{output}"
    accuracy = float(output.split("test accuracy:")[1].split()[0])
    assert "ranks: 2" in output and accuracy > 0.7, output

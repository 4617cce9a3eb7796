"""tapegrad: the same TF 2 program as bench_tf.py's eager variant, with `import tapegrad as tf`.

    PYTHONPATH=<repo root> python bench_tapegrad.py --workload mlp32 [--repeats 5] [--json]

The workloads are the lines of tf_program.py, shared with TensorFlow: Keras models, a custom
step of GradientTape + loss + gradient + optimizer.apply_gradients (no tf.function), and
`model.fit` for fitepoch. Runs with the main interpreter (the repository's NumPy).
"""

import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # pins the thread pools before NumPy's BLAS starts

args = common.parse_args("tapegrad")
warnings.filterwarnings("ignore")
sys.path.insert(1, os.path.dirname(os.path.dirname(HERE)))    # the repository root
os.environ["TAPEGRAD_DEVICE"] = args.device   # the CPU rows stay on the CPU on a GPU machine
try:
    import tapegrad as tf
except Exception as e:  # noqa: BLE001 - the core is still being built
    common.skip("tapegrad", f"tapegrad does not import ({e})", args.json, args.workload)
if args.device == "gpu" and not tf.config.list_physical_devices("GPU"):
    common.skip("tapegrad", "no GPU: CuPy is not installed or sees no device", args.json,
                args.workload)

tf.random.set_seed(0)

import tf_program


def build(workload):
    parts = tf_program.build(tf, workload, compiled=False)
    if args.device == "gpu":
        if "step" not in parts or workload not in common.STEP_WORKLOADS:
            raise common.Unsupported("the GPU rows are the training steps")
        parts["sync"] = lambda out: tf.backend.cupy.cuda.Device().synchronize()
    return parts


common.main("tapegrad", tf.__version__, build, args, numpy=common.np.__version__,
            device=args.device)

"""tf.config: the devices a program can see and use.

    >>> tf.config.list_physical_devices('GPU')      # [] without CuPy or a CUDA device
    []

The device rules (where tensors live, what an op on two devices does) are in backend.py's
docstring. tapegrad is always eager, so run_functions_eagerly is accepted and changes nothing.
"""

import types

from . import backend
from .backend import PhysicalDevice, list_physical_devices

__all__ = [
    "LogicalDevice",
    "PhysicalDevice",
    "experimental",
    "functions_run_eagerly",
    "get_visible_devices",
    "list_logical_devices",
    "list_physical_devices",
    "run_functions_eagerly",
    "set_visible_devices",
    "threading",
]

_gpu_hidden = False


class LogicalDevice:
    """TensorFlow's LogicalDevice: the name ops are placed with ('/device:GPU:0')."""

    __slots__ = ("name", "device_type")

    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type

    def __eq__(self, other):
        return isinstance(other, LogicalDevice) and (self.name, self.device_type) == (
            other.name, other.device_type)

    def __hash__(self):
        return hash((self.name, self.device_type))

    def __repr__(self):
        return f"LogicalDevice(name='{self.name}', device_type='{self.device_type}')"


def get_visible_devices(device_type=None):
    """The physical devices tapegrad may use: all of them unless set_visible_devices hid the
    GPU. Only the first GPU is used (choose it with CUDA_VISIBLE_DEVICES)."""
    return [d for d in list_physical_devices(device_type)
            if not (_gpu_hidden and d.device_type == "GPU")]


def set_visible_devices(devices, device_type=None):
    """Hide the GPU (`tf.config.set_visible_devices([], 'GPU')`, TF's way to force the CPU)
    or show it again. The CPU cannot be hidden."""
    global _gpu_hidden
    devices = [devices] if isinstance(devices, PhysicalDevice) else list(devices)
    kinds = {d.device_type for d in devices}
    kind = None if device_type is None else str(device_type).upper()
    if kind in (None, "CPU") and "CPU" not in kinds:
        raise ValueError("set_visible_devices: the CPU cannot be hidden; pass "
                         "device_type='GPU' to choose the visible GPUs")
    if kind not in (None, "GPU"):
        return
    was_hidden, _gpu_hidden = _gpu_hidden, "GPU" not in kinds
    if _gpu_hidden and backend.current_device() == "gpu":
        backend.set_device("cpu")
    elif was_hidden and not _gpu_hidden and backend.gpu_module() is not None:
        backend.set_device("gpu")  # the default again: the GPU when there is one


def list_logical_devices(device_type=None):
    """The devices ops can be placed on: '/device:CPU:0' and, when visible, '/device:GPU:0'."""
    out = [LogicalDevice("/device:CPU:0", "CPU")]
    if any(d.device_type == "GPU" for d in get_visible_devices()):
        out.append(LogicalDevice("/device:GPU:0", "GPU"))
    return [d for d in out if device_type is None or d.device_type == str(device_type).upper()]


def run_functions_eagerly(run_eagerly):
    """Accepted for compatibility: tapegrad always runs eagerly."""


def functions_run_eagerly():
    return True


def _check_gpu(device):
    if not isinstance(device, PhysicalDevice) or device.device_type != "GPU":
        raise ValueError(f"expected a GPU PhysicalDevice from list_physical_devices('GPU'), "
                         f"got {device!r}")


def _set_memory_growth(device, enable):
    """Accepted: CuPy's memory pool already grows on demand instead of taking all memory."""
    _check_gpu(device)


def _get_memory_growth(device):
    _check_gpu(device)
    return True


def _get_device_details(device):
    """{'device_name': ..., 'compute_capability': (major, minor)} for a GPU, {} for the CPU."""
    if device.device_type != "GPU":
        return {}
    cp = backend.gpu_module()
    props = cp.cuda.runtime.getDeviceProperties(int(device.name.rsplit(":", 1)[1]))
    name = props["name"]
    return {"device_name": name.decode() if isinstance(name, bytes) else str(name),
            "compute_capability": (int(props["major"]), int(props["minor"]))}


experimental = types.SimpleNamespace(
    set_memory_growth=_set_memory_growth, get_memory_growth=_get_memory_growth,
    get_device_details=_get_device_details, list_physical_devices=list_physical_devices,
    get_visible_devices=get_visible_devices, set_visible_devices=set_visible_devices,
)


class threading:
    """tf.config.threading: the threads tapegrad's large elementwise passes use (the BLAS
    library keeps its own, set by OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before start-up)."""

    @staticmethod
    def set_intra_op_parallelism_threads(num_threads):
        backend.set_num_threads(num_threads)

    @staticmethod
    def get_intra_op_parallelism_threads():
        return backend.num_threads

    @staticmethod
    def set_inter_op_parallelism_threads(num_threads):
        """Accepted for TensorFlow programs; tapegrad runs one op at a time."""

    @staticmethod
    def get_inter_op_parallelism_threads():
        return 1

"""Fused CuPy kernels for the hottest GPU passes: one kernel launch instead of several.

On a GPU every elementwise NumPy-style call is a kernel launch that reads and writes all of its
arrays in GPU memory. Adam's update is eleven such calls; ReLU's gradient is two. Each kernel
here does the same arithmetic in one pass. They are built on first use with
`cupy.ElementwiseKernel` (compiled once, cached by CuPy) and used only with real CuPy; on NumPy,
or without `ElementwiseKernel`, the callers run their plain array code, which is also the
reference the GPU tests compare these kernels with.
"""

from . import backend

_cache = {}


def available(xp):
    """Whether `xp` is a CuPy that can build elementwise kernels."""
    return xp is backend.cupy and xp is not None and hasattr(xp, "ElementwiseKernel")


def _kernel(name, in_params, out_params, body):
    k = _cache.get(name)
    if k is None:
        k = _cache[name] = backend.cupy.ElementwiseKernel(in_params, out_params, body,
                                                          f"tapegrad_{name}")
    return k


def adam(gradient, param, m, v, alpha, beta_1, beta_2, epsilon):
    """Keras' Adam step in one pass: updates the slots m and v in place and returns the new
    parameter array (a GPU variable moves to it; a tape may still hold the old one)."""
    k = _kernel(
        "adam",
        "T g, T p, float64 alpha, float64 c1, float64 c2, float64 eps",
        "T m, T v, T p_new",
        "m += (T)(c1 * ((double)g - (double)m));"
        "v += (T)(c2 * ((double)g * (double)g - (double)v));"
        "p_new = (T)((double)p - alpha * (double)m / (sqrt((double)v) + eps));",
    )
    out = backend.cupy.empty_like(param)
    k(gradient, param, float(alpha), 1.0 - float(beta_1), 1.0 - float(beta_2), float(epsilon),
      m, v, out)
    return out


def relu_grad(g, out):
    """g * (out > 0) in one pass."""
    return _kernel("relu_grad", "T g, T y", "T dx", "dx = y > (T)0 ? g : (T)0")(g, out)

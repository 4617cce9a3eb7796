"""The MPI world: init(), rank(), size() and friends, in Horovod's names.

mpi4py is imported by init(), never at import time, so `import tapegrad.distributed` costs nothing
and works where MPI is not installed. Without mpi4py (or outside mpiexec) init() gives a world of
one process: rank 0 of 1, and every collective returns its input.

After init() in a world of more than one process, an uncaught exception on any rank prints that
rank's traceback and calls MPI.COMM_WORLD.Abort(1), which ends every rank: a failure never leaves
the other ranks waiting forever inside a collective.
"""

import contextlib
import os
import sys

# Set by the common launchers for every rank they start (MPICH/Hydra, Intel MPI, Open MPI,
# MVAPICH): if one says "more than one process" and mpi4py is missing, training N independent
# copies silently would be the wrong answer, so init() raises instead.
_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
TIMEOUT_ENV = "TAPEGRAD_MPI_TIMEOUT"

_world = None


class World:
    """Who this process is: the communicator and its rank/size, plus the collective timeout."""

    def __init__(self, mpi=None, comm=None, timeout=None):
        self.mpi, self.comm, self.timeout = mpi, comm, timeout
        self.previous_excepthook = None
        if comm is None:
            self.rank, self.size = 0, 1
            self.local_rank, self.local_size, self.cross_rank, self.cross_size = 0, 1, 0, 1
            self.local_comm = self.cross_comm = None
            return
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        # Ranks sharing a machine (shared memory) form the local communicator; ranks with the
        # same local rank across machines form the cross communicator (Horovod's layout).
        self.local_comm = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = self.local_comm.Get_rank(), self.local_comm.Get_size()
        self.cross_comm = comm.Split(color=self.local_rank, key=self.rank)
        self.cross_rank, self.cross_size = self.cross_comm.Get_rank(), self.cross_comm.Get_size()


def init(comm=None, timeout=None):
    """Start the MPI world (Horovod's `hvd.init()`); call once, before anything else here.

    `timeout` (seconds; also env TAPEGRAD_MPI_TIMEOUT) bounds every collective: a rank that waits
    longer for its peers raises a RuntimeError naming the collective and itself, and the job is
    aborted, instead of hanging. None or 0 waits forever. `comm` is an mpi4py communicator to use
    instead of MPI.COMM_WORLD. Calling init() again only updates the timeout.

    >>> import tapegrad.distributed as hvd
    >>> hvd.init()
    >>> hvd.rank(), hvd.size()        # (0, 1) outside mpiexec
    (0, 1)
    """
    global _world
    if _world is not None:
        if timeout is not None:
            _world.timeout = _parse_timeout(timeout, "init(timeout=...)")
        return
    limit = _parse_timeout(timeout, "init(timeout=...)") if timeout is not None else \
        _parse_timeout(os.environ.get(TIMEOUT_ENV, ""), TIMEOUT_ENV)
    mpi = _import_mpi()
    if mpi is None:
        _world = World(timeout=limit)
        return
    _world = World(mpi, mpi.COMM_WORLD if comm is None else comm, limit)
    if _world.local_size > 1 and not os.environ.get("TAPEGRAD_NUM_THREADS"):
        # ranks on one machine share its CPUs: each gets its share of elementwise threads
        from .. import backend

        backend.set_num_threads(max(1, backend.num_threads // _world.local_size))
    if _world.size > 1:
        _world.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def shutdown():
    """Forget the world (Horovod's `hvd.shutdown()`); MPI itself is finalized at exit."""
    global _world
    if _world is None:
        return
    if _world.previous_excepthook is not None and sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _world.previous_excepthook
    for c in (_world.local_comm, _world.cross_comm):
        if c is not None:
            c.Free()
    _world = None


def current():
    """The World, or a ValueError telling the caller to run init() first (as Horovod does)."""
    if _world is None:
        raise ValueError(
            "tapegrad.distributed has not been initialized; call hvd.init() first "
            "(import tapegrad.distributed as hvd)"
        )
    return _world


def is_initialized():
    return _world is not None


def mpi_enabled():
    """True when collectives go through MPI (mpi4py imported and init() done)."""
    return _world is not None and _world.comm is not None


def rank():
    """This process's index in the world, 0 … size()-1."""
    return current().rank


def size():
    """How many processes train together."""
    return current().size


def local_rank():
    """This process's index among the processes on the same machine (pick a GPU with it)."""
    return current().local_rank


def local_size():
    return current().local_size


def cross_rank():
    """The index of this process's machine among the machines."""
    return current().cross_rank


def cross_size():
    return current().cross_size


def is_chief():
    """True on rank 0, and whenever the world is not initialized: the process that prints,
    logs and saves checkpoints. `fit` forces verbose=0 where this is False."""
    return _world is None or _world.rank == 0


def _parse_timeout(value, source):
    if isinstance(value, str):
        value = value.strip().lower()
        if value in ("", "0", "none", "inf"):
            return None
        try:
            value = float(value)
        except ValueError:
            raise ValueError(
                f"{source}: {value!r} is not a number of seconds; use e.g. 60, or 0 for no limit"
            ) from None
    if value is None or value == 0:
        return None
    value = float(value)
    if value < 0:
        raise ValueError(f"{source}: the timeout must be >= 0 seconds, got {value:g}")
    return value


def _launcher_size():
    for name in _LAUNCHER_SIZE_VARS:
        try:
            return int(os.environ[name])
        except (KeyError, ValueError):
            continue
    return 1


def _import_mpi():
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:  # RuntimeError: mpi4py found no MPI library
        n = _launcher_size()
        if n > 1:
            raise RuntimeError(
                f"this process was started by an MPI launcher as one of {n} ranks, but mpi4py "
                f"cannot be loaded ({e}); install it with `pip install 'tapegrad[mpi]'`, or every "
                "rank would train alone"
            ) from e
        return None
    return MPI


def _abort_on_uncaught(exc_type, exc, tb):
    # Print first (the traceback is the point), flush, then take every rank down with us.
    w = _world
    header = (f"\ntapegrad.distributed: rank {w.rank} of {w.size} raised "
              f"{exc_type.__name__}; aborting all ranks\n")
    hook = w.previous_excepthook
    if hook in (None, sys.__excepthook__):
        # one write: mpiexec forwards what reached the pipe before the abort, and a second
        # write (the traceback) was sometimes lost when the abort came first
        import traceback

        sys.stderr.write(header + "".join(traceback.format_exception(exc_type, exc, tb)))
    else:
        sys.stderr.write(header)
        hook(exc_type, exc, tb)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream must not stop the abort
            stream.flush()
    w.mpi.COMM_WORLD.Abort(1)

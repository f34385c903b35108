"""torch's intra-op threads follow the budget that joblib and threadpoolctl set.

scikit-learn's parallelism gives each worker a share of the cores: joblib's
default (loky) backend starts its workers with ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ... set to ``cpu_count() // n_jobs``, and
``threadpoolctl.threadpool_limits`` lowers the OpenMP and BLAS thread pools
of the running process. Both show in what threadpoolctl reports for the
loaded OpenMP and BLAS libraries. :func:`torch_thread_budget` sets torch's
intra-op threads (``torch.set_num_threads``) to the smallest of those
numbers, and never to more than the cores this process may use, for the
duration of a ``with`` block, and restores the previous number after it.
:class:`~sklearn_lt.LongTailNet` trains and predicts inside it, so a
``GridSearchCV(n_jobs=2)`` of our estimators on two cores runs two fits of
one thread each rather than two fits of two threads each.
"""

from contextlib import contextmanager

import torch
from joblib import cpu_count
from threadpoolctl import ThreadpoolController

__all__ = ["thread_budget", "torch_thread_budget"]

_CONTROLLER = None


def _controller():
    # Scanning the loaded libraries costs about a millisecond; reading the
    # current numbers from the controller's handles afterwards, microseconds.
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def thread_budget():
    """Number of threads a computation in this thread should use.

    The smallest ``num_threads`` that threadpoolctl reports for the loaded
    OpenMP and BLAS libraries (as set by ``OMP_NUM_THREADS`` and friends, a
    joblib worker's share of the cores, or ``threadpool_limits``), capped at
    the cores this process may use (:func:`joblib.cpu_count`, which honours
    CPU affinity and cgroup quotas), and at least 1.

    Returns
    -------
    n_threads : int

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> from sklearn_lt._threads import thread_budget
    >>> with threadpool_limits(1):
    ...     thread_budget()
    1
    """
    budget = cpu_count()
    for lib in _controller().lib_controllers:
        if lib.user_api in ("openmp", "blas"):
            n = lib.num_threads
            if isinstance(n, int) and n > 0:
                budget = min(budget, n)
    return max(1, budget)


@contextmanager
def torch_thread_budget():
    """Run torch with :func:`thread_budget` intra-op threads, then restore.

    Lowers torch's thread count only: a budget above the current
    ``torch.get_num_threads()`` (say, the user chose fewer threads) leaves
    it as it is.

    Examples
    --------
    >>> import torch
    >>> from threadpoolctl import threadpool_limits
    >>> from sklearn_lt._threads import torch_thread_budget
    >>> before = torch.get_num_threads()
    >>> with threadpool_limits(1), torch_thread_budget():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    previous = torch.get_num_threads()
    wanted = min(previous, thread_budget())
    if wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

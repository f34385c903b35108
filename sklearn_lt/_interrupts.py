"""Ctrl-C during training: let it reach the caller past skorch (which treats
a ``KeyboardInterrupt`` as the end of training)."""

import contextvars
import signal
import threading
from contextlib import contextmanager

# Inside propagating_interrupts(): a one-item list, set to True when the
# process receives SIGINT.
_SIGINT_SEEN = contextvars.ContextVar("sklearn_lt_sigint_seen", default=None)


class _TrainingInterrupted(Exception):
    """A Ctrl-C during training, carried past skorch's partial_fit (which
    swallows KeyboardInterrupt) by :func:`propagating_interrupts`."""


@contextmanager
def propagating_interrupts():
    """Let a Ctrl-C during training reach the caller.

    skorch stops training on a ``KeyboardInterrupt`` and returns the partly
    trained net: its ``partial_fit`` catches the exception, which is also how
    its ``EarlyStopping`` ends training. A scikit-learn estimator must not
    swallow a Ctrl-C: in ``GridSearchCV``, ``cross_validate`` or
    ``sklearn-lt compare`` it has to stop the whole job, not one fit (whose
    history may not even hold a finished epoch). So inside this context a
    SIGINT handler notes the signal (then calls the previous handler, which
    raises the ``KeyboardInterrupt``), and :meth:`LongTailNet.fit_loop` lets
    an interrupt that came with a signal through; one raised by a callback
    (early stopping) still just ends training. Signal handlers exist only in
    the main thread; in another one, where a Ctrl-C never raises, this does
    nothing.
    """
    previous = signal.getsignal(signal.SIGINT)
    if (
        threading.current_thread() is not threading.main_thread()
        or not callable(previous)  # SIG_IGN, SIG_DFL or not set from Python
    ):
        yield
        return
    seen = [False]

    def note_and_forward(signum, frame):
        seen[0] = True
        previous(signum, frame)

    token = _SIGINT_SEEN.set(seen)
    signal.signal(signal.SIGINT, note_and_forward)
    try:
        yield
    except _TrainingInterrupted as exc:
        raise KeyboardInterrupt from exc.__cause__
    finally:
        signal.signal(signal.SIGINT, previous)
        _SIGINT_SEEN.reset(token)

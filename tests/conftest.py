import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (none available)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def fit_with_callback():
    """``fit(estimator, X, y, callback)``: fit with ``callback`` as the net's last
    callback (after DRW and the learning-rate scheduler), return ``callback``."""

    def fit(estimator, X, y, callback):
        make_net = estimator._make_net

        def make_net_with_callback(*args, callbacks=None, **kwargs):
            callbacks = [*(callbacks or []), ("recorder", callback)]
            return make_net(*args, callbacks=callbacks, **kwargs)

        estimator._make_net = make_net_with_callback
        estimator.fit(X, y)
        return callback

    return fit

"""One process of the multi-process fit in ``tests/test_distributed.py``.

Started by ``torchrun`` (``python -m torch.distributed.run``), once per
process::

    python -m torch.distributed.run --nproc_per_node 2 \\
        tests/_distributed_fit.py DATA.npz OUT_DIR OPTIONS_JSON

Every process reads the whole table from ``DATA.npz`` (``X``, ``y``,
``X_test`` and, if present, ``sample_weight``), fits an
:class:`~sklearn_lt.accelerate.AcceleratedLongTailNet` on the CPU (gloo)
with the options in ``OPTIONS_JSON`` (``batch_size`` is per process), and
writes ``OUT_DIR/rank<r>.npz``: the trained parameters, ``predict_proba`` on
``X_test``, the per-epoch training losses and the world size.
"""

import json
import sys
from pathlib import Path

CRITERIA = ("CrossEntropyLoss", "LDAMLoss", "LogitAdjustedLoss", "FocalLoss")


def net_kwargs(options):
    """The keyword arguments of the net, shared with the single-process run.

    Parameters
    ----------
    options : dict
        ``criterion`` (a name from :data:`CRITERIA`), ``head``,
        ``hidden_layer_sizes``, ``n_features``, ``n_classes``, ``lr``,
        ``alpha``, ``max_epochs``, ``shuffle`` and ``reweight_epoch``
        (``None`` for no deferred re-weighting).

    Returns
    -------
    kwargs : dict
        For :class:`~sklearn_lt.LongTailNet` or
        :class:`~sklearn_lt.accelerate.AcceleratedLongTailNet`, without
        ``batch_size``, ``device`` and ``accelerator``.
    """
    import numpy as np
    import torch

    from sklearn_lt import losses
    from sklearn_lt.modules import MLPModule
    from sklearn_lt.net import DeferredReweighting

    if options["criterion"] not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}")
    callbacks = []
    if options.get("reweight_epoch") is not None:
        drw = DeferredReweighting(reweight_epoch=options["reweight_epoch"])
        callbacks.append(("drw", drw))
    return {
        "module": MLPModule,
        "module__n_features": options["n_features"],
        "module__n_classes": options["n_classes"],
        "module__hidden_layer_sizes": tuple(options["hidden_layer_sizes"]),
        "module__head": options["head"],
        "criterion": getattr(losses, options["criterion"]),
        "classes": np.arange(options["n_classes"]),
        "optimizer": torch.optim.Adam,
        "lr": options["lr"],
        "alpha": options["alpha"],
        "max_epochs": options["max_epochs"],
        "iterator_train__shuffle": options["shuffle"],
        "callbacks": callbacks,
        "verbose": 0,
    }


def main(data_path, out_dir, options):
    """Fit in this process and write ``OUT_DIR/rank<r>.npz``."""
    import numpy as np
    import torch
    from accelerate import Accelerator

    from sklearn_lt.accelerate import AcceleratedLongTailNet

    accelerator = Accelerator(cpu=True)
    data = np.load(data_path)
    X = data["X"]
    if "sample_weight" in data:
        X = {"X": X, "sample_weight": data["sample_weight"]}
    torch.manual_seed(options["seed"])
    net = AcceleratedLongTailNet(
        **net_kwargs(options),
        batch_size=options["batch_size"],
        accelerator=accelerator,
    )
    net.fit(X, data["y"])
    # every process predicts: the accelerator shards the rows and gathers
    # the predictions back into their order
    proba = net.predict_proba(data["X_test"])
    params = {
        "param:" + name: value.detach().cpu().numpy()
        for name, value in net.module_.state_dict().items()
    }
    np.savez(
        Path(out_dir) / f"rank{accelerator.process_index}.npz",
        proba=proba,
        train_loss=np.asarray(net.history[:, "train_loss"]),
        num_processes=accelerator.num_processes,
        **params,
    )
    # leave the process group before the interpreter exits: a gloo group
    # still open at exit can abort one process ("terminate called without
    # an active exception", SIGABRT), seen once in CI after a good fit
    accelerator.wait_for_everyone()
    accelerator.end_training()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))

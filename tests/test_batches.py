"""TensorBatchIterator: the same batches as skorch's DataLoader, from
tensors moved to the device once."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset

import sklearn_lt._batches
from sklearn_lt.net import TensorBatchIterator


def _data(n=90, d=5, counts=(60, 20, 10), seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    X = (rng.normal(size=(len(y), d)) + y[:, None]).astype(np.float32)
    return X, y


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [7, 32, 90])
def test_tensor_iterator_yields_the_same_batches_as_a_dataloader(shuffle, batch_size):
    X, y = _data()
    dataset = Dataset(X, y)
    torch.manual_seed(123)
    expected = [
        (xb.clone(), yb.clone())
        for _ in range(2)
        for xb, yb in DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)
    ]
    torch.manual_seed(123)
    iterator = TensorBatchIterator(dataset, batch_size=batch_size, shuffle=shuffle)
    got = [(xb, yb) for _ in range(2) for xb, yb in iterator]
    assert len(got) == len(expected) == 2 * len(iterator)
    for (xg, yg), (xe, ye) in zip(got, expected):
        torch.testing.assert_close(xg, xe)
        torch.testing.assert_close(yg, ye)


def test_tensor_iterator_handles_subsets_dicts_and_drop_last():
    X, y = _data()
    weights = np.arange(len(y), dtype=np.float32)
    dataset = Subset(Dataset({"X": X, "sample_weight": weights}, y), np.arange(10, 50))
    batches = list(TensorBatchIterator(dataset, batch_size=16, drop_last=True))
    assert [len(yb) for _, yb in batches] == [16, 16]
    np.testing.assert_array_equal(
        batches[0][0]["sample_weight"].numpy(), weights[10:26]
    )
    np.testing.assert_array_equal(batches[1][0]["X"].numpy(), X[26:42])


def test_tensor_iterator_falls_back_to_a_dataloader_for_other_datasets():
    data = torch.utils.data.TensorDataset(torch.arange(10.0), torch.arange(10))
    batches = list(TensorBatchIterator(data, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]


def test_tensor_iterator_chunks_give_the_dataloaders_batches(monkeypatch):
    monkeypatch.setattr(sklearn_lt._batches, "_CHUNK_BYTES", 100)  # 1-2 batches a chunk
    X, y = _data()
    dataset = Dataset(X, y)
    torch.manual_seed(5)
    expected = list(DataLoader(dataset, batch_size=7, shuffle=True))
    torch.manual_seed(5)
    got = list(TensorBatchIterator(dataset, batch_size=7, shuffle=True))
    assert len(got) == len(expected) == 13
    for (xg, yg), (xe, ye) in zip(got, expected):
        torch.testing.assert_close(xg, xe)
        torch.testing.assert_close(yg, ye)

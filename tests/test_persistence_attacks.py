"""Hostile model files: each one is refused quickly, in bounded memory.

Every crafted file is built here and loaded by ``sklearn_lt.persistence.load``
in a child process whose address space is limited with
``resource.setrlimit(RLIMIT_AS)`` and whose loads are limited to 20 s. The limit
is set right after the child has imported torch, scikit-learn, skorch and
skops and loaded a genuine model once (these imports alone map about 1.3 GB
of address space, more than 1 GiB), to the address space then in use plus
1 GiB: a load may allocate at most 1 GiB. One child loads all regular files
in turn and reports, per file, the exception, its cause chain, the time and
the peak resident memory (``VmHWM``, reset between files through
``/proc/self/clear_refs``); the special files (a FIFO, a symlink to
``/dev/zero``) get a child of their own, as they would hang a loader that
reads them. Each file must end in a ``ModelFileError`` with the expected
reason (not a ``MemoryError`` turned into one), within 5 s and 300 MiB of
peak memory, all loads of a child within 20 s (measured in the child after
its imports; the child is killed after 20 s plus 60 s for its imports, which
take 3-10 s), and no file may appear in the child's working or temporary
directory or beside the crafted files.

Run with ``-s`` to see the table of answers, times and peak memory.
"""

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.persistence import save
from sklearn_lt.persistence._format import FORMAT_VERSION

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="RLIMIT_AS, /proc/self/status and FIFOs as on Linux",
    ),
]

HEADROOM = 2**30  # what a load may allocate beyond the imported libraries
TIMEOUT = 20  # for all the loads of one child, measured in the child
IMPORT_TIMEOUT = 60  # the child's imports (3 s idle, 10 s on a busy machine)
MAX_SECONDS = 5.0
MAX_PEAK_MIB = 300

_CHILD = r"""
import json, os, resource, sys, time
import numpy, torch, skops.io
from sklearn_lt.persistence import load

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

warm, cases = json.loads(sys.argv[1])
for path in warm:  # the first load imports lazily; do it before the limit
    load(path)
limit = status("VmSize") + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for name, path, kwargs in cases:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
    except OSError:
        pass
    base = status("VmRSS")
    start = time.perf_counter()
    try:
        load(path, **kwargs)
        outcome = {"type": "loaded", "message": "", "chain": []}
    except BaseException as exc:
        chain, cause = [], exc.__cause__
        while cause is not None:
            chain.append(type(cause).__name__)
            cause = cause.__cause__
        outcome = {"type": type(exc).__name__, "message": str(exc), "chain": chain}
    outcome["name"] = name
    outcome["seconds"] = time.perf_counter() - start
    outcome["peak_mib"] = (status("VmHWM") - base) / 2**20
    print(json.dumps(outcome), flush=True)
"""


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------
def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(files, path=None, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files:
            archive.writestr(name, content)
    if path is None:
        return buffer.getvalue()
    path.write_bytes(buffer.getvalue())
    return path


def _with_metadata(files, change):
    metadata = json.loads(files["metadata.json"])
    change(metadata)
    return {**files, "metadata.json": json.dumps(metadata).encode()}


def _torch_bytes(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _deflated_zeros(path, member, size, others, zip64):
    """A zip whose ``member`` inflates to ``size`` zero bytes, built cheaply.

    Deflating 2 GiB of zeros takes 10-20 s; but after a full flush a
    deflate stream restarts, so one compressed 64 MiB block of zeros is
    repeated: ``zipfile``'s compressor is replaced by one that returns the
    block for each chunk (``zipfile`` still computes the real CRC-32 and
    sizes).
    """
    chunk = bytes(64 * 2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush()

    class Repeat:
        def compress(self, data):
            assert data is chunk or len(data) == 0
            return block if data else b""

        def flush(self):
            return final

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in others.items():
            archive.writestr(name, content)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(zipfile, "_get_compressor", lambda *args: Repeat())
            with archive.open(member, "w", force_zip64=zip64) as out:
                for _ in range(size // len(chunk)):
                    out.write(chunk)
    return path


def _patch_directory(path, member, *, size=None, crc=None):
    """Overwrite the uncompressed size or CRC-32 recorded for ``member``,
    in its central-directory entry and its local header."""
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = int.from_bytes(data[position + 28 : position + 30], "little")
        name = bytes(data[position + 46 : position + 46 + name_length])
        if name == member.encode():
            local = int.from_bytes(data[position + 42 : position + 46], "little")
            if size is not None:
                data[position + 24 : position + 28] = size.to_bytes(4, "little")
                data[local + 22 : local + 26] = size.to_bytes(4, "little")
            if crc is not None:
                data[position + 16 : position + 20] = crc.to_bytes(4, "little")
                data[local + 14 : local + 18] = crc.to_bytes(4, "little")
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))
    return path


def _flip_compressed_bytes(path, member):
    """Invert 16 bytes in the middle of ``member``'s compressed data."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    name_length = int.from_bytes(data[local + 26 : local + 28], "little")
    extra_length = int.from_bytes(data[local + 28 : local + 30], "little")
    start = local + 30 + name_length + extra_length + info.compress_size // 2
    for index in range(start, start + 16):
        data[index] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------
# The crafted files
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """A small MLP and a small pipeline, saved; their members."""
    directory = tmp_path_factory.mktemp("genuine")
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [30, 12, 6])
    X = rng.normal(size=(y.size, 4)) + y[:, None]
    mlp = MLPMarginClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    save(mlp.fit(X, y), directory / "mlp.sklt")
    pipeline = make_pipeline(StandardScaler(), LinearMarginClassifier(random_state=0))
    save(pipeline.fit(X, y), directory / "pipeline.sklt")
    return {
        "mlp": directory / "mlp.sklt",
        "pipeline": directory / "pipeline.sklt",
        "mlp_files": _members((directory / "mlp.sklt").read_bytes()),
        "pipeline_files": _members((directory / "pipeline.sklt").read_bytes()),
    }


def _weights(files, change):
    state = torch.load(io.BytesIO(files["module.pt"]), weights_only=True)
    change(state)
    return {**files, "module.pt": _torch_bytes(state)}


def _edit_skops(files, change):
    inner = _members(files["sklearn.skops"])
    change(inner)
    return {**files, "sklearn.skops": _zip(inner.items())}


def _schema(change):
    def edit(inner):
        inner["schema.json"] = change(json.loads(inner["schema.json"]))

    return edit


def _os_system(schema):
    step = schema["content"]["content"]["steps"]["content"][0]["content"][1]
    step.update({"__class__": "system", "__module__": "os"})
    return json.dumps(schema).encode()


def _npy_bomb(inner):
    name = next(name for name in inner if name.endswith(".npy"))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header = header.ljust(117) + b"\n"
    inner[name] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def _stream_json(path, member, opening, item, count, closing, others):
    """A zip whose JSON ``member`` is ``opening + item * count + closing``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in others.items():
            archive.writestr(name, content)
        with archive.open(member, "w") as out:
            out.write(opening)
            piece = item * 2**20
            for _ in range(count // 2**20):
                out.write(piece)
            out.write(item * (count % 2**20) + closing)
    return path


def _deep(depth):
    return b"[" * depth + b"]" * depth


def _build(name, directory, genuine):
    """Write the crafted file ``name``; return (path, load kwargs)."""
    path = directory / f"{name}.sklt"
    mlp, pipe = genuine["mlp_files"], genuine["pipeline_files"]
    others = {k: v for k, v in mlp.items() if k != "module.pt"}
    if name == "zip-bomb-2GiB-module":
        return _deflated_zeros(path, "module.pt", 2**31, others, zip64=True), {}
    if name == "zip-bomb-lying-header":
        _deflated_zeros(path, "module.pt", 320 * 2**20, others, zip64=False)
        return _patch_directory(path, "module.pt", size=1000), {}
    if name == "history-255MB-of-empty-objects":
        others = {k: v for k, v in mlp.items() if k != "history.json"}
        count = 85_000_000
        _stream_json(path, "history.json", b"[", b"{},", count, b"{}]", others)
        return path, {}
    if name == "history-15MB-of-empty-objects":
        others = {k: v for k, v in mlp.items() if k != "history.json"}
        _stream_json(path, "history.json", b"[", b"{},", 5_000_000, b"{}]", others)
        return path, {}
    files = None
    if name == "history-nested-100000-deep":
        files = {**mlp, "history.json": _deep(100_000)}
    elif name == "metadata-nested-100000-deep":
        files = {**mlp, "metadata.json": _deep(100_000)}
    elif name == "n-features-200-million":
        files = _with_metadata(
            mlp, lambda m: m["attributes"].update(n_features_in_=200_000_000)
        )
    elif name == "n-features-1-billion":
        files = _with_metadata(
            mlp, lambda m: m["attributes"].update(n_features_in_=1_000_000_000)
        )
    elif name == "hidden-layer-10-billion":
        files = _with_metadata(
            mlp,
            lambda m: m["params"].update(hidden_layer_sizes={"tuple": [10**10]}),
        )
    elif name == "hidden-layers-1-million":
        files = _with_metadata(
            mlp,
            lambda m: m["params"].update(hidden_layer_sizes={"tuple": [1] * 10**6}),
        )
    elif name == "classes-100-thousand":
        files = _with_metadata(
            mlp,
            lambda m: m["attributes"].update(
                classes_={"dtype": "<i8", "values": list(range(10**5))},
                class_counts_=[1] * 10**5,
            ),
        )
    elif name == "stride-0-expanded-tensor":
        files = _weights(
            mlp,
            lambda s: s.update(
                {"body.0.weight": torch.zeros(1).expand(25_000, 20_000)}
            ),
        )
    elif name == "view-of-a-larger-storage":
        files = _weights(
            mlp, lambda s: s.update({"head.bias": torch.zeros(10_000_000)[:3]})
        )
    elif name == "sparse-tensor":
        files = _weights(
            mlp,
            lambda s: s.update({"head.bias": torch.zeros(3).to_sparse()}),
        )
    elif name == "weights-index-2MiB":
        inner = _members(mlp["module.pt"])
        index = next(k for k in inner if k.endswith("data.pkl"))
        inner[index] = b"\x80\x02}" + b"}0" * 2**20 + b"."
        files = {**mlp, "module.pt": _zip(inner.items(), compression=0)}
    elif name == "weights-deflated-inside":
        inner = _members(mlp["module.pt"])
        files = {**mlp, "module.pt": _zip(inner.items())}
    elif name == "nan-weights":
        files = _weights(mlp, lambda s: s["head.weight"].fill_(float("nan")))
    elif name == "wrong-shape-weights":
        files = _weights(mlp, lambda s: s.update({"head.weight": torch.zeros(2, 2)}))
    elif name == "missing-weight":
        files = _weights(mlp, lambda s: s.pop("head.bias"))
    elif name == "pickle-in-place-of-weights":
        files = {**mlp, "module.pt": pickle.dumps({"head.weight": 1})}
    elif name == "estimator-is-a-list":
        files = _with_metadata(
            mlp, lambda m: m.update(estimator=["LinearMarginClassifier"])
        )
    elif name == "estimator-os-system":
        files = _with_metadata(mlp, lambda m: m.update(estimator="os.system"))
    elif name == "class-counts-2-to-63":
        files = _with_metadata(
            mlp, lambda m: m["attributes"].update(class_counts_=[2**63, 1, 1])
        )
    elif name == "class-counts-as-strings":
        files = _with_metadata(
            mlp, lambda m: m["attributes"].update(class_counts_=["1", "2", "3"])
        )
    elif name == "unknown-parameter":
        files = _with_metadata(mlp, lambda m: m["params"].update(run="rm -rf /"))
    elif name == "format-pickle":
        files = _with_metadata(mlp, lambda m: m.update(format="pickle"))
    elif name == "newer-format-version":
        files = _with_metadata(
            mlp, lambda m: m.update(format_version=FORMAT_VERSION + 1)
        )
    elif name == "extra-member":
        files = {**mlp, "extra.py": b"import os"}
    elif name == "skops-part-names-os-system":
        files = _edit_skops(pipe, _schema(_os_system))
    elif name == "skops-array-declares-1e12-floats":
        files = _edit_skops(pipe, _npy_bomb)
    elif name == "skops-schema-nested-100000-deep":
        files = _edit_skops(
            pipe, lambda inner: inner.update({"schema.json": _deep(10**5)})
        )
    elif name == "skops-schema-200-thousand-objects":
        schema = b"[" + b"{}," * 200_000 + b"{}]"
        files = _edit_skops(pipe, lambda inner: inner.update({"schema.json": schema}))
    if files is not None:
        return _zip(files.items(), path), {}
    if name == "duplicate-metadata":
        evil = _with_metadata(mlp, lambda m: m.update(estimator="os.system"))
        items = [*mlp.items(), ("metadata.json", evil["metadata.json"])]
        with pytest.warns(UserWarning, match="Duplicate name"):
            return _zip(items, path), {}
    if name == "flipped-bytes":
        return _flip_compressed_bytes(_zip(mlp.items(), path), "history.json"), {}
    if name == "bad-crc":
        return _patch_directory(_zip(mlp.items(), path), "metadata.json", crc=1), {}
    if name == "pickle-file":
        path.write_bytes(pickle.dumps(LinearMarginClassifier()))
        return path, {}
    if name == "truncated-file":
        data = genuine["mlp"].read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path, {}
    if name == "5000-members":
        return _zip([(f"m{i}", b"") for i in range(5000)], path), {}
    if name == "genuine-model-over-a-small-max-bytes":
        return genuine["mlp"], {"max_bytes": 4096}
    raise AssertionError(name)


# name -> a regular expression the one-line message must match
CASES = {
    "zip-bomb-2GiB-module": r"total size \(2147\d+ bytes\) exceeds the limit",
    "zip-bomb-lying-header": r"'module.pt' is corrupt \(BadZipFile: Bad CRC-32",
    "history-255MB-of-empty-objects": r"'history.json' \(255000004 bytes\) exceeds",
    "history-15MB-of-empty-objects": r"'history.json' \(estimated size once parsed\)",
    "history-nested-100000-deep": r"'history.json' nests 100000 levels deep",
    "metadata-nested-100000-deep": r"'metadata.json' nests 100000 levels deep",
    "n-features-200-million": r"'body.0.weight' is \(4, 4\).*says \(4, 200000000\)",
    "n-features-1-billion": r"header says \(4, 1000000000\)",
    "hidden-layer-10-billion": r"header says \(10000000000, 4\)",
    "hidden-layers-1-million": r"hidden_layer_sizes of length 1000000, but the",
    "classes-100-thousand": r"'head.weight' is \(3, 4\).*header says \(100000, 4\)",
    "stride-0-expanded-tensor": r"'body.0.weight'.*stride \(0, 0\).* not a contiguous",
    "view-of-a-larger-storage": r"'head.bias'.*not a contiguous tensor owning its",
    "sparse-tensor": r"'head.bias' in the file is not a dense tensor",
    "weights-index-2MiB": r"index of 2097\d+ bytes",
    "weights-deflated-inside": r"uses compression method 8",
    "nan-weights": r"'head.weight' in the file is not finite",
    "wrong-shape-weights": r"'head.weight' is \(2, 2\)",
    "missing-weight": r"'head.bias' missing",
    "pickle-in-place-of-weights": r"not in torch.save's zip format.*without running",
    "estimator-is-a-list": r"estimator \['LinearMarginClassifier'\]; only",
    "estimator-os-system": r"estimator 'os.system'; only",
    "class-counts-2-to-63": r"class_counts_ must be non-negative, with a sum",
    "class-counts-as-strings": r"class_counts_ must be a list of integers",
    "unknown-parameter": r"parameters \['run'\]",
    "format-pickle": r"format 'pickle'",
    "newer-format-version": r"newer than the version",
    "extra-member": r"not the members",
    "skops-part-names-os-system": r"untrusted types \['os.system'\]",
    "skops-array-declares-1e12-floats": r"declares shape \(1000000000000,\)",
    "skops-schema-nested-100000-deep": r"'schema.json' nests 100000 levels deep",
    "skops-schema-200-thousand-objects": r"'schema.json' \(estimated size once",
    "duplicate-metadata": r"duplicate members \['metadata.json'\]",
    "flipped-bytes": r"'history.json' is corrupt \((error|BadZipFile)",
    "bad-crc": r"'metadata.json' is corrupt \(BadZipFile: Bad CRC-32",
    "pickle-file": r"not a zip archive.*pickle",
    "truncated-file": r"not a zip archive",
    "5000-members": r"declares 5000 members",
    "genuine-model-over-a-small-max-bytes": r"exceeds the limit of 4096 .*max_bytes",
}


def _listing(*directories):
    return {str(d): sorted(os.listdir(d)) for d in directories}


def _run_child(warm, cases, tmp_path):
    """Load ``cases`` in a child under the address-space limit; the outcomes."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    folders = {os.path.dirname(path) for _, path, _ in cases}
    watched = [cwd, tmp, *sorted(f for f in folders if f != "/dev")]
    before = _listing(*watched)
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *sys.path]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            json.dumps([[str(p) for p in warm], cases]),
            str(HEADROOM),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT + IMPORT_TIMEOUT,  # a hang ends here
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _listing(*watched) == before, "loading created a file"
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(outcome["seconds"] for outcome in outcomes) < TIMEOUT
    return {outcome["name"]: outcome for outcome in outcomes}


def _report(outcomes):
    print()
    for name, outcome in outcomes.items():
        print(
            f"{name:40s} {outcome['seconds']:6.3f} s {outcome['peak_mib']:7.1f} MiB  "
            f"{outcome['type']}: {outcome['message'][:150]}"
        )


@pytest.fixture(scope="module")
def outcomes(genuine, tmp_path_factory):
    directory = tmp_path_factory.mktemp("crafted")
    cases = []
    for name in CASES:
        path, kwargs = _build(name, directory, genuine)
        cases.append([name, str(path), kwargs])
    # Genuine files load under the limit too (the limit is not too tight).
    cases += [
        ["genuine-mlp", str(genuine["mlp"]), {}],
        ["genuine-pipeline", str(genuine["pipeline"]), {}],
    ]
    results = _run_child(
        [genuine["mlp"], genuine["pipeline"]],
        cases,
        tmp_path_factory.mktemp("child"),
    )
    _report(results)
    return results


def _check(outcome, message):
    assert outcome["type"] == "ModelFileError", outcome
    assert "\n" not in outcome["message"]
    assert re.search(message, outcome["message"]), outcome["message"]
    assert "MemoryError" not in outcome["chain"], outcome
    assert outcome["seconds"] < MAX_SECONDS, outcome
    assert outcome["peak_mib"] < MAX_PEAK_MIB, outcome


@pytest.mark.parametrize("name", list(CASES))
def test_crafted_file_is_refused_quickly_in_bounded_memory(name, outcomes):
    _check(outcomes[name], CASES[name])


def test_genuine_files_load_under_the_same_limit(outcomes):
    for name in ("genuine-mlp", "genuine-pipeline"):
        assert outcomes[name]["type"] == "loaded", outcomes[name]


def test_fifo_device_and_directory_are_refused_without_reading(genuine, tmp_path):
    special = tmp_path / "special"
    special.mkdir()
    fifo = special / "model.sklt"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    zero = special / "zero.sklt"
    zero.symlink_to("/dev/zero")  # reading it would never end
    cases = {
        "fifo": (fifo, r"is a FIFO \(named pipe\), not a regular file"),
        "symlink-to-dev-zero": (zero, r"is a character device, not a regular"),
        "dev-zero": ("/dev/zero", r"is a character device, not a regular file"),
        "directory": (special, r"is a directory, not a regular file"),
    }
    results = _run_child(
        [genuine["mlp"]],
        [[name, str(path), {}] for name, (path, _) in cases.items()],
        tmp_path,
    )
    _report(results)
    for name, (_, message) in cases.items():
        _check(results[name], message)

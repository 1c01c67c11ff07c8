"""Tests of sktransfer.datasets.

Real-data tests read the directory named by SKTRANSFER_DATA and skip when a
file is missing. Everything else uses tiny files written here; the network is
never used (``_fetch`` and ``_urlopen`` are replaced for every test).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import sys
import time
import urllib.error
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sktransfer.datasets import (
    ChecksumError,
    _base,
    _mnist,
    _office_caltech,
    _usps,
    get_data_home,
    load_mnist,
    load_office_caltech10,
    load_usps,
)

# -- helpers --------------------------------------------------------------------

REAL_FETCH = _base._fetch  # taken before any test replaces it


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if a test would download anything for real."""

    def forbidden(url, *args):
        raise AssertionError(f"test tried to download {url}")

    monkeypatch.setattr(_base, "_fetch", forbidden)
    monkeypatch.setattr(_base, "_urlopen", forbidden)


def _serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Replace ``_fetch`` by one serving ``files`` (url -> bytes); log calls."""
    calls: list[str] = []

    def fake_fetch(url, dest):
        calls.append(url)
        Path(dest).write_bytes(files[url])

    monkeypatch.setattr(_base, "_fetch", fake_fetch)
    return calls


def _idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.tobytes())


def _esl_bytes(labels, pixels) -> bytes:
    # ESL layout: a label and 256 values in [-1, 1] per line.
    lines = [
        " ".join([f"{lab:.4f}", *(f"{v:.3f}" for v in row)])
        for lab, row in zip(labels, pixels, strict=True)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _sha256(data: bytes) -> tuple[str, str]:
    return ("sha256", hashlib.sha256(data).hexdigest())


def _register_local(monkeypatch, registry: dict, key: str, path: Path) -> None:
    """Register the digest of a test file written under a canonical name.

    Loaders verify local files against the registry, so a tiny stand-in file
    needs its own digest there to be read.
    """
    remote = dataclasses.replace(registry[key], checksum=_sha256(path.read_bytes()))
    monkeypatch.setitem(registry, key, remote)


def _age(path: Path, seconds: float = 3600) -> None:
    """Date ``path`` back, as verifications of just-written files are not kept."""
    then = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(then, then))


def _count_hashes(monkeypatch) -> list[Path]:
    """Record the files that ``_file_digest`` hashes from now on."""
    hashed: list[Path] = []
    digest = _base._file_digest

    def counting(path, algorithm):
        hashed.append(Path(path))
        return digest(path, algorithm)

    monkeypatch.setattr(_base, "_file_digest", counting)
    return hashed


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A data dir with 3 train and 2 test 28x28 images in IDX files."""
    rng = np.random.default_rng(0)
    content = {}
    for prefix, n in [("train", 3), ("t10k", 2)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        content[prefix] = images, labels
        folder = tmp_path / "mnist"
        folder.mkdir(exist_ok=True)
        for kind, array in [("images-idx3", images), ("labels-idx1", labels)]:
            name = f"{prefix}-{kind}-ubyte.gz"
            (folder / name).write_bytes(_idx_bytes(array))
            _register_local(monkeypatch, _mnist._FILES, name, folder / name)
    return tmp_path, content


def _real_data_home(*parts: str) -> Path:
    home = os.environ.get("SKTRANSFER_DATA")
    if not home:
        pytest.skip("SKTRANSFER_DATA is not set (point it at a data directory)")
    path = Path(home, *parts)
    if not path.is_file():
        pytest.skip(f"real data file {path} is missing")
    return Path(home)


# -- data directory -------------------------------------------------------------


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SKTRANSFER_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.setenv("SKTRANSFER_DATA", "")  # empty counts as unset
    assert get_data_home() == tmp_path / "xdg" / "sktransfer"
    monkeypatch.delenv("SKTRANSFER_DATA")
    assert get_data_home() == tmp_path / "xdg" / "sktransfer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert get_data_home() == tmp_path / "home" / ".cache" / "sktransfer"


def test_data_home_relative_and_user_paths(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home("rel/data") == tmp_path / "rel" / "data"
    assert get_data_home("~/data") == tmp_path / "home" / "data"
    monkeypatch.setenv("SKTRANSFER_DATA", "envrel")
    assert get_data_home() == tmp_path / "envrel"
    assert get_data_home().is_absolute()


@pytest.mark.parametrize("bad", [123, b"bytes", ["a"], 1.5])
def test_data_home_of_another_type_is_refused(bad):
    with pytest.raises(TypeError, match="data_home must be a folder's path"):
        get_data_home(bad)
    with pytest.raises(TypeError, match="data_home must be a folder's path"):
        load_mnist(data_home=bad, download_if_missing=False)


def test_data_home_is_not_created(tmp_path):
    assert not get_data_home(tmp_path / "new").exists()


# -- registry ---------------------------------------------------------------------

REGISTRY = [
    *[("mnist", f) for f in _mnist._FILES.values()],
    *[("usps", f) for f in _usps._FILES.values()],
    *[("office_caltech10_surf", f) for f in _office_caltech._DOMAINS.values()],
]


@pytest.mark.parametrize(
    "subdir, remote", REGISTRY, ids=[r.filename for _, r in REGISTRY]
)
def test_registry_entries_are_well_formed(subdir, remote):
    assert remote.url.startswith("https://")
    assert remote.url.endswith("/" + remote.filename)
    if remote.checksum is not None:
        algorithm, digest = remote.checksum
        assert len(digest) == hashlib.new(algorithm).digest_size * 2
        int(digest, 16)


@pytest.mark.parametrize(
    "subdir, remote",
    [(s, r) for s, r in REGISTRY if r.checksum is not None],
    ids=[r.filename for _, r in REGISTRY if r.checksum is not None],
)
def test_registry_digests_match_real_files(subdir, remote):
    home = _real_data_home(subdir, remote.filename)
    algorithm, digest = remote.checksum
    assert _base._file_digest(home / subdir / remote.filename, algorithm) == digest


@pytest.mark.parametrize("gz", sorted(_mnist._UNCOMPRESSED))
def test_uncompressed_digests_match_real_files(gz):
    # Each uncompressed form's digest is that of the original's decompressed
    # bytes (or, where only the uncompressed copy exists, of that copy).
    remote = _mnist._UNCOMPRESSED[gz]
    assert remote.filename + ".gz" == gz
    algorithm, digest = remote.checksum
    assert algorithm == "sha256"
    home = os.environ.get("SKTRANSFER_DATA")
    raw, packed = Path(home or ".", "mnist", remote.filename), None
    if home and Path(home, "mnist", gz).is_file():
        packed = Path(home, "mnist", gz)
    if packed is not None:
        with gzip.open(packed, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest
    elif raw.is_file():
        assert _base._file_digest(raw, algorithm) == digest
    else:
        pytest.skip(f"neither {gz} nor {remote.filename} is in {home!r}")


# Downloadable files without a sha256, and what they are checked with instead:
# no copy of them was available to compute one (see the registry comments).
NO_SHA256 = {
    "train-images-idx3-ubyte.gz": "md5",
    "zip.train.gz": None,
    "zip.test.gz": None,
}


@pytest.mark.parametrize(
    "subdir, remote", REGISTRY, ids=[r.filename for _, r in REGISTRY]
)
def test_registry_uses_sha256_except_known_gaps(subdir, remote):
    algorithm = remote.checksum[0] if remote.checksum else None
    assert algorithm == NO_SHA256.get(remote.filename, "sha256")


def test_mnist_train_images_use_md5():
    remote = _mnist._FILES["train-images-idx3-ubyte.gz"]
    assert remote.checksum == ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873")
    assert remote.url == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"
    )


# -- downloads ------------------------------------------------------------------


def test_download_verifies_and_places_file(monkeypatch, tmp_path):
    payload = b"tiny payload"
    calls = _serve(monkeypatch, {"https://example.org/f.bin": payload})
    remote = _base.RemoteFile("f.bin", "https://example.org/f.bin", _sha256(payload))
    path = _base._fetch_file(remote, "sub", tmp_path, download_if_missing=True)
    assert path == tmp_path / "sub" / "f.bin"
    assert path.read_bytes() == payload
    assert os.listdir(tmp_path / "sub") == ["f.bin"]  # no temporary left
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as usual
    # Present now: no second download.
    assert _base._fetch_file(remote, "sub", tmp_path, True) == path
    assert calls == ["https://example.org/f.bin"]


def test_download_with_md5_checksum(monkeypatch, tmp_path):
    payload = b"md5 checked"
    _serve(monkeypatch, {"https://example.org/g.gz": payload})
    digest = hashlib.md5(payload).hexdigest().upper()  # case-insensitive
    remote = _base.RemoteFile("g.gz", "https://example.org/g.gz", ("md5", digest))
    assert _base._download(remote, tmp_path).read_bytes() == payload


def test_download_without_checksum_warns(monkeypatch, tmp_path):
    _serve(monkeypatch, {"https://example.org/h": b"unverified"})
    remote = _base.RemoteFile("h", "https://example.org/h", None)
    with pytest.warns(UserWarning, match="not verified"):
        path = _base._download(remote, tmp_path)
    assert path.read_bytes() == b"unverified"


def _write_then(error):
    def fetch(url, dest):
        Path(dest).write_bytes(b"partial or wrong bytes")
        if error is not None:
            raise error

    return fetch


@pytest.mark.parametrize(
    "fetch, expected, match",
    [
        (_write_then(None), ChecksumError, "Checksum mismatch"),
        (
            _write_then(urllib.error.URLError("no route to host")),
            FileNotFoundError,
            "no route to host",
        ),
        (_write_then(TimeoutError("timed out")), FileNotFoundError, "timed out"),
        (_write_then(KeyboardInterrupt()), KeyboardInterrupt, None),
    ],
    ids=["checksum-mismatch", "offline", "timeout", "interrupted"],
)
def test_failed_download_leaves_no_file(monkeypatch, tmp_path, fetch, expected, match):
    monkeypatch.setattr(_base, "_fetch", fetch)
    remote = _base.RemoteFile("f.bin", "https://example.org/f.bin", _sha256(b"good"))
    with pytest.raises(expected, match=match):
        _base._fetch_file(remote, "sub", tmp_path, download_if_missing=True)
    assert os.listdir(tmp_path / "sub") == []


def test_checksum_error_is_an_oserror():
    assert issubclass(ChecksumError, OSError)


def test_offline_error_names_file_folder_and_variable(monkeypatch, tmp_path):
    monkeypatch.setattr(_base, "_fetch", _write_then(urllib.error.URLError("down")))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(data_home=tmp_path)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist") in message
    assert "SKTRANSFER_DATA" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message


def test_download_if_missing_false_does_not_fetch(tmp_path):
    # The autouse fixture turns any download attempt into an AssertionError.
    with pytest.raises(FileNotFoundError, match="download_if_missing=False") as info:
        load_mnist(subset="train", data_home=tmp_path, download_if_missing=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert "SKTRANSFER_DATA" in str(info.value)
    assert not (tmp_path / "mnist").exists()


class _FakeResponse:
    """A file-like response serving ``chunks`` then EOF; each read advances
    ``clock`` by ``step`` and records the size asked for."""

    def __init__(self, chunks, clock=None, step=0.0):
        self.chunks, self.clock, self.step = iter(chunks), clock, step
        self.sizes: list[int] = []

    def read(self, size):
        self.sizes.append(size)
        if self.clock is not None:
            self.clock[0] += self.step
        return next(self.chunks, b"")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _HTTPResponse(_FakeResponse):
    """Like http.client.HTTPResponse, with ``read1`` (preferred by _fetch)."""

    read1 = _FakeResponse.read

    def read(self, size):
        raise AssertionError("read1 should be used")


def _fake_clock(monkeypatch) -> list[float]:
    now = [0.0]
    monkeypatch.setattr(_base, "_clock", lambda: now[0])
    return now


@pytest.mark.parametrize("response_type", [_HTTPResponse, _FakeResponse])
def test_fetch_copies_the_response_in_chunks(monkeypatch, tmp_path, response_type):
    response = response_type([b"ab", b"cd"])
    monkeypatch.setattr(_base, "_urlopen", lambda url: response)
    REAL_FETCH("https://example.org/f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"abcd"
    assert response.sizes == [_base._CHUNK] * 3


@pytest.mark.parametrize("deadline", [None, 5])
def test_download_deadline_names_url_and_leaves_no_file(
    monkeypatch, tmp_path, deadline
):
    if deadline is None:
        deadline = 600
        assert _base._DOWNLOAD_DEADLINE_S == deadline  # the default
    else:
        monkeypatch.setattr(_base, "_DOWNLOAD_DEADLINE_S", deadline)
    # An endless trickle: each chunk arrives well within the per-read timeout.
    endless = iter(lambda: b"x" * 10, None)
    response = _HTTPResponse(endless, _fake_clock(monkeypatch), step=deadline / 5)
    monkeypatch.setattr(_base, "_urlopen", lambda url: response)
    monkeypatch.setattr(_base, "_fetch", REAL_FETCH)
    url = "https://example.org/slow.bin"
    remote = _base.RemoteFile("slow.bin", url, _sha256(b"good"))
    with pytest.raises(FileNotFoundError) as info:
        _base._fetch_file(remote, "sub", tmp_path, download_if_missing=True)
    message = str(info.value)
    assert url in message and f"deadline of {deadline} s" in message
    assert isinstance(info.value.__cause__, TimeoutError)
    assert len(response.sizes) == 6  # stopped at the first chunk past it
    assert os.listdir(tmp_path / "sub") == []  # the partial file is gone


def test_download_deadline_counts_the_connection(monkeypatch, tmp_path):
    now = _fake_clock(monkeypatch)

    def slow_open(url):
        now[0] += _base._DOWNLOAD_DEADLINE_S + 1
        return _HTTPResponse([b"late"])

    monkeypatch.setattr(_base, "_urlopen", slow_open)
    with pytest.raises(TimeoutError, match="https://example.org/f.bin"):
        REAL_FETCH("https://example.org/f.bin", tmp_path / "f.bin")


# -- local verification -----------------------------------------------------------


@pytest.fixture
def local_file(monkeypatch, tmp_path):
    """A settled local file with its registry entry; a fresh memo; hash log."""
    payload = b"local bytes"
    path = tmp_path / "sub" / "f.bin"
    path.parent.mkdir()
    path.write_bytes(payload)
    _age(path)
    remote = _base.RemoteFile("f.bin", "https://example.org/f.bin", _sha256(payload))
    monkeypatch.setattr(_base, "_VERIFIED", {})
    return path, remote, _count_hashes(monkeypatch)


def _load(remote, path):
    return _base._fetch_file(remote, "sub", path.parents[1], download_if_missing=False)


def test_local_file_is_hashed_once_then_trusted_by_stamp(monkeypatch, local_file):
    path, remote, hashed = local_file
    sidecar = path.with_name(".f.bin.verified")
    assert _load(remote, path) == path
    assert hashed == [path]
    stat = path.stat()
    assert json.loads(sidecar.read_text()) == {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "algorithm": "sha256",
        "digest": remote.checksum[1],
    }
    _load(remote, path)  # the in-process memo
    monkeypatch.setattr(_base, "_VERIFIED", {})  # as in a new process
    _load(remote, path)  # the sidecar
    assert hashed == [path]
    assert sorted(os.listdir(path.parent)) == [".f.bin.verified", "f.bin"]


def test_local_file_changed_after_its_check_is_rejected(local_file):
    path, remote, hashed = local_file
    _load(remote, path)
    path.write_bytes(b"local bytez")  # same size, new content and mtime
    _age(path, 60)
    with pytest.raises(ChecksumError) as info:
        _load(remote, path)
    message = str(info.value)
    assert str(path) in message
    assert remote.checksum[1] in message  # expected
    assert hashlib.sha256(b"local bytez").hexdigest() in message  # actual
    assert "delete it so that it is downloaded again" in message
    assert remote.url in message
    assert len(hashed) == 2


def test_new_registered_digest_is_checked_despite_the_record(local_file):
    path, remote, hashed = local_file
    _load(remote, path)
    other = dataclasses.replace(remote, checksum=_sha256(b"another release"))
    with pytest.raises(ChecksumError, match="Checksum mismatch"):
        _load(other, path)
    assert len(hashed) == 2


def test_garbled_sidecar_means_hashing_again(monkeypatch, local_file):
    path, remote, hashed = local_file
    path.with_name(".f.bin.verified").write_text("{not json")
    _load(remote, path)
    assert len(hashed) == 1
    monkeypatch.setattr(_base, "_VERIFIED", {})
    _load(remote, path)  # the sidecar was rewritten
    assert len(hashed) == 1


def test_just_written_file_is_not_trusted_by_stamp(local_file):
    # Its stamp may not change if it is rewritten within the timestamp
    # granularity, so it is hashed again until it has settled.
    path, remote, hashed = local_file
    path.write_bytes(path.read_bytes())
    _load(remote, path)
    _load(remote, path)
    assert len(hashed) == 2
    assert not path.with_name(".f.bin.verified").exists()


@pytest.mark.parametrize("read_only", ["mode", "file-system"])
def test_read_only_data_directory_falls_back_to_memo(
    monkeypatch, local_file, read_only
):
    path, remote, hashed = local_file
    if read_only == "mode":  # respected even by root, who could write
        mode = path.parent.stat().st_mode
        path.parent.chmod(0o555)
    else:

        def refuse(target, text):
            raise OSError(30, "Read-only file system", str(target))

        monkeypatch.setattr(_base, "_write_atomic", refuse)
    try:
        _load(remote, path)
        _load(remote, path)
        assert hashed == [path]  # once per process
        assert os.listdir(path.parent) == ["f.bin"]
        monkeypatch.setattr(_base, "_VERIFIED", {})  # as in a new process
        _load(remote, path)
        assert len(hashed) == 2
    finally:
        if read_only == "mode":
            path.parent.chmod(mode)


def test_unregistered_local_file_is_not_hashed(local_file):
    path, remote, hashed = local_file
    assert _load(dataclasses.replace(remote, checksum=None), path) == path
    assert hashed == []


def test_load_mnist_rejects_a_truncated_local_file(tiny_mnist):
    home, _ = tiny_mnist
    path = home / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ChecksumError) as info:
        load_mnist(data_home=home)
    assert str(path) in str(info.value) and "delete it" in str(info.value)


# -- MNIST (IDX) ----------------------------------------------------------------


def test_read_idx_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x.gz").write_bytes(_idx_bytes(images))
    out = _mnist._read_idx(tmp_path / "x.gz", ndim=3)
    np.testing.assert_array_equal(out, images)
    (tmp_path / "y.gz").write_bytes(_idx_bytes(np.array([7, 2, 1])))
    np.testing.assert_array_equal(_mnist._read_idx(tmp_path / "y.gz", 1), [7, 2, 1])


@pytest.mark.parametrize(
    "raw, match",
    [
        (_idx_bytes(np.zeros((2, 3, 3)), magic=0x0801), "magic number 0x00000801"),
        (_idx_bytes(np.zeros((2, 3, 3)), magic=0x0D03), "magic number 0x00000d03"),
        (gzip.compress(b"\x00\x00"), "file too short"),
        (_idx_bytes(np.zeros((2, 3, 3)))[:-8], "not a valid gzip"),
        (_idx_bytes(np.zeros((2, 3, 3)))[:-8] + b"\0" * 8, "not a valid gzip"),
        (gzip.compress(b"\x00\x00\x08\x03\x00\x00"), "truncated"),
        (b"not gzip at all", "not a valid gzip"),
    ],
    ids=[
        "labels-magic",
        "float-magic",
        "short",
        "truncated-gzip",
        "bad-crc",
        "header",
        "no-gzip",
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, raw, match):
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match) as info:
        _mnist._read_idx(path, ndim=3)
    assert str(path) in str(info.value)
    assert "delete it so that it is downloaded again" in str(info.value)
    if match == "not a valid gzip":  # the reader's own error stays attached
        assert isinstance(info.value.__cause__, (OSError, EOFError, zlib.error))


def test_read_idx_payload_size_mismatch(tmp_path):
    raw = gzip.decompress(_idx_bytes(np.zeros((2, 3, 3))))
    (tmp_path / "short.gz").write_bytes(gzip.compress(raw[:-1]))
    with pytest.raises(ValueError, match=r"announces shape \(2, 3, 3\)"):
        _mnist._read_idx(tmp_path / "short.gz", ndim=3)


def _uncompress_tiny(monkeypatch, home: Path, names=None) -> None:
    """Replace tiny ``.gz`` files by their uncompressed form, registered."""
    for gz in names or sorted(_mnist._UNCOMPRESSED):
        packed = home / "mnist" / gz
        raw = packed.with_name(gz[: -len(".gz")])
        with gzip.open(packed, "rb") as fh:
            raw.write_bytes(fh.read())
        packed.unlink()
        _register_local(monkeypatch, _mnist._UNCOMPRESSED, gz, raw)


@pytest.mark.parametrize("subset", ["train", "test"])
def test_load_mnist_reads_the_uncompressed_form(tiny_mnist, monkeypatch, subset):
    home, _ = tiny_mnist
    expected = load_mnist(subset=subset, data_home=home, return_X_y=True)
    _uncompress_tiny(monkeypatch, home)
    got = load_mnist(subset=subset, data_home=home, download_if_missing=False,
                     return_X_y=True)  # fmt: skip
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_load_mnist_mixed_forms(tiny_mnist, monkeypatch):
    # Images uncompressed, labels gzip: what the shared data folder holds.
    home, content = tiny_mnist
    _uncompress_tiny(monkeypatch, home, ["train-images-idx3-ubyte.gz"])
    X, y = load_mnist(subset="train", data_home=home, return_X_y=True)
    np.testing.assert_allclose(X[:, 0], content["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, content["train"][1])


def test_load_mnist_uncompressed_form_checks_its_digest(tiny_mnist, monkeypatch):
    home, _ = tiny_mnist
    _uncompress_tiny(monkeypatch, home)
    raw = home / "mnist" / "t10k-images-idx3-ubyte"
    data = bytearray(raw.read_bytes())
    data[-1] ^= 0xFF  # same size, other pixels
    raw.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte'"):
        load_mnist(subset="test", data_home=home, download_if_missing=False)


def test_load_mnist_missing_names_both_forms(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(subset="train", data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert "'train-images-idx3-ubyte' or 'train-images-idx3-ubyte.gz'" in message


def test_read_only_data_directory_is_left_as_it_was(tiny_mnist, monkeypatch):
    home, _ = tiny_mnist
    _uncompress_tiny(monkeypatch, home)
    folder = home / "mnist"
    for path in folder.iterdir():
        _age(path)
    monkeypatch.setattr(_base, "_VERIFIED", {})
    before = sorted(os.listdir(folder))
    folder.chmod(0o555)
    try:
        load_mnist(subset="train", data_home=home, download_if_missing=False)
        load_mnist(subset="test", data_home=home, download_if_missing=False)
    finally:
        folder.chmod(0o755)
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize("subset, prefix", [("train", "train"), ("test", "t10k")])
def test_load_mnist_tiny_files(tiny_mnist, subset, prefix):
    home, content = tiny_mnist
    images, labels = content[prefix]
    bunch = load_mnist(subset=subset, data_home=home)
    assert bunch.data.shape == (len(images), 1, 28, 28)
    assert bunch.data.dtype == np.float32
    np.testing.assert_allclose(bunch.data[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(bunch.images, bunch.data[:, 0])
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert bunch.subset == subset
    assert "LeCun" in bunch.DESCR
    X, y = load_mnist(subset=subset, data_home=home, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_load_mnist_downloads_missing_files(monkeypatch, tmp_path):
    images = np.full((2, 28, 28), 255, dtype=np.uint8)
    labels = np.array([3, 9], dtype=np.uint8)
    served = {}
    for name, payload in [
        ("t10k-images-idx3-ubyte.gz", _idx_bytes(images)),
        ("t10k-labels-idx1-ubyte.gz", _idx_bytes(labels)),
    ]:
        remote = _mnist._FILES[name]
        monkeypatch.setitem(
            _mnist._FILES, name, _base.RemoteFile(name, remote.url, _sha256(payload))
        )
        served[remote.url] = payload
    calls = _serve(monkeypatch, served)
    X, y = load_mnist(data_home=tmp_path, return_X_y=True)
    assert X.shape == (2, 1, 28, 28) and X.max() == 1.0
    np.testing.assert_array_equal(y, [3, 9])
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted(
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    )
    assert len(calls) == 2


def test_load_mnist_real_checksums_reject_a_bad_download(monkeypatch, tmp_path):
    url = _mnist._FILES["t10k-images-idx3-ubyte.gz"].url
    _serve(monkeypatch, {url: _idx_bytes(np.zeros((1, 28, 28)))})
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist(data_home=tmp_path)
    assert os.listdir(tmp_path / "mnist") == []


def test_load_mnist_inconsistent_files(tiny_mnist, monkeypatch):
    home, _ = tiny_mnist
    labels = home / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(_idx_bytes(np.array([1, 2, 3])))
    _register_local(monkeypatch, _mnist._FILES, labels.name, labels)
    with pytest.raises(ValueError, match="holds 2 images but") as info:
        load_mnist(data_home=home)
    assert "delete both files" in str(info.value)
    labels.write_bytes(_idx_bytes(np.array([1, 12])))
    _register_local(monkeypatch, _mnist._FILES, labels.name, labels)
    with pytest.raises(ValueError, match="outside 0..9") as info:
        load_mnist(data_home=home)
    assert str(labels) in str(info.value)


def test_load_mnist_invalid_subset(tmp_path):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_mnist(subset="validation", data_home=tmp_path)


# -- USPS -----------------------------------------------------------------------


def _esl_sample(n: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    pixels = np.round(rng.uniform(-1, 1, (n, 256)), 3)
    pixels[:, 0] = -1.0
    pixels[:, 1] = 1.0
    return labels, pixels


def test_read_esl_maps_values_to_unit_interval(tmp_path):
    labels, pixels = _esl_sample(3, 0)
    path = tmp_path / "zip.train.gz"
    path.write_bytes(_esl_bytes(labels, pixels))
    data, target = _usps._read_esl(path)
    np.testing.assert_array_equal(target, labels)
    assert data.dtype == np.float32
    np.testing.assert_allclose(data, (pixels + 1) / 2, atol=1e-7)
    assert data[:, 0].max() == 0.0 and data[:, 1].min() == 1.0


def test_read_esl_rejects_wrong_width(tmp_path):
    path = tmp_path / "zip.test.gz"
    path.write_bytes(gzip.compress(b"1.0 0.5 0.5\n"))
    with pytest.raises(ValueError, match="257 values per line"):
        _usps._read_esl(path)


_ESL_OK = _esl_bytes(*_esl_sample(3, 4))
_ESL_TEXT = gzip.decompress(_ESL_OK)


@pytest.mark.parametrize(
    "raw, match",
    [
        (_ESL_OK[:-30], "not a valid gzip"),
        (_ESL_OK[: len(_ESL_OK) // 2], "not a valid gzip"),
        (_ESL_OK[:-8] + b"\0" * 8, "not a valid gzip"),
        (b"\x89PNG garbage" * 10, "not a valid gzip"),
        (gzip.compress(_ESL_TEXT[:-300]), "not a table of numbers"),
        (gzip.compress(_ESL_TEXT.replace(b"0.", b"O.", 1)), "not a table"),
        (gzip.compress(b"\xff\xfe\x00binary"), "not a table of numbers"),
        (gzip.compress(b""), "holds no data"),
    ],
    ids=[
        "truncated-trailer",
        "truncated-half",
        "bad-crc",
        "garbage",
        "truncated-text",
        "bad-number",
        "binary-text",
        "empty",
    ],
)
def test_load_usps_rejects_corrupt_esl_files(tmp_path, raw, match):
    path = tmp_path / "usps" / "zip.test.gz"
    path.parent.mkdir()
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match) as info:
        load_usps(subset="test", data_home=tmp_path, download_if_missing=False)
    assert str(path) in str(info.value)
    assert "delete it so that it is downloaded again" in str(info.value)
    if match != "holds no data":
        assert info.value.__cause__ is not None


def _write_h5(path: Path, n: int = 20) -> None:
    h5py = pytest.importorskip("h5py")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name in ("train", "test"):
            f.create_dataset(f"{name}/data", data=np.full((n, 256), 0.5, np.float32))
            f.create_dataset(f"{name}/target", data=np.arange(n, dtype=np.int32) % 10)


@pytest.mark.parametrize("damage", ["truncated", "tail-cut", "garbage", "empty"])
def test_load_usps_rejects_corrupt_h5(tmp_path, damage):
    path = tmp_path / "usps" / "usps.h5"
    _write_h5(path)
    raw = path.read_bytes()
    damaged = {
        "truncated": raw[: len(raw) // 2],
        "tail-cut": raw[:-1],
        "garbage": bytes(range(256)) * (len(raw) // 256),
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match="not a readable HDF5 file") as info:
        load_usps(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(path) in message
    assert "replace it" in message and "zip.train.gz" in message
    assert isinstance(info.value.__cause__, OSError)


def test_load_usps_rejects_h5_without_the_subset(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "usps" / "usps.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f.create_dataset("train/data", data=np.zeros((2, 256), np.float32))
    with pytest.raises(ValueError, match="no 'test/data' and 'test/target'") as info:
        load_usps(subset="test", data_home=tmp_path)
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


@pytest.mark.parametrize("subset", ["train", "test"])
def test_load_usps_from_esl_files(tmp_path, subset):
    labels, pixels = _esl_sample(4, 1)
    (tmp_path / "usps").mkdir()
    (tmp_path / "usps" / f"zip.{subset}.gz").write_bytes(_esl_bytes(labels, pixels))
    bunch = load_usps(subset=subset, data_home=tmp_path)
    assert bunch.data.shape == (4, 1, 16, 16)
    assert bunch.data.dtype == np.float32
    np.testing.assert_allclose(bunch.data.reshape(4, 256), (pixels + 1) / 2, atol=1e-7)
    np.testing.assert_array_equal(bunch.images, bunch.data[:, 0])
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.subset == subset
    assert "USPS" in bunch.DESCR


def test_load_usps_prefers_h5(tmp_path):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path / "usps"
    folder.mkdir()
    labels, pixels = _esl_sample(2, 2)
    (folder / "zip.train.gz").write_bytes(_esl_bytes(labels, pixels))
    h5_data = np.full((3, 256), 0.25, dtype=np.float32)
    with h5py.File(folder / "usps.h5", "w") as f:
        for name in ("train", "test"):
            f.create_dataset(f"{name}/data", data=h5_data)
            f.create_dataset(f"{name}/target", data=np.array([0, 5, 9], np.int32))
    X, y = load_usps(subset="train", data_home=tmp_path, return_X_y=True)
    assert X.shape == (3, 1, 16, 16)
    assert np.all(X == 0.25)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 5, 9])


def test_load_usps_downloads_esl_when_nothing_present(monkeypatch, tmp_path):
    labels, pixels = _esl_sample(2, 3)
    calls = _serve(
        monkeypatch,
        {_usps._FILES["zip.test.gz"].url: _esl_bytes(labels, pixels)},
    )
    with pytest.warns(UserWarning, match="not verified"):
        X, y = load_usps(subset="test", data_home=tmp_path, return_X_y=True)
    assert calls == ["https://hastie.su.domains/ElemStatLearn/datasets/zip.test.gz"]
    assert (tmp_path / "usps" / "zip.test.gz").is_file()
    np.testing.assert_array_equal(y, labels)
    assert X.shape == (2, 1, 16, 16)


def test_load_usps_missing_names_both_formats(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_usps(subset="test", data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert "usps.h5" in message and "zip.test.gz" in message
    assert "SKTRANSFER_DATA" in message


def test_load_usps_invalid_subset(tmp_path):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_usps(subset="all", data_home=tmp_path)


def test_missing_h5py_gives_install_hint(monkeypatch, tmp_path):
    (tmp_path / "usps").mkdir()
    (tmp_path / "usps" / "usps.h5").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "sktransfer\[data\]"'):
        load_usps(data_home=tmp_path)


# -- Office-Caltech10 -----------------------------------------------------------


def _write_mat(path: Path, fts, labels) -> None:
    savemat = pytest.importorskip("scipy.io").savemat
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"fts": fts, "labels": labels})


@pytest.mark.parametrize(
    "domain, filename",
    [
        ("amazon", "amazon_SURF_L10.mat"),
        ("webcam", "webcam_SURF_L10.mat"),
        ("dslr", "dslr_SURF_L10.mat"),
        ("caltech", "Caltech10_SURF_L10.mat"),
    ],
)
def test_load_office_caltech10_tiny_file(monkeypatch, tmp_path, domain, filename):
    fts = np.arange(5 * 800, dtype=np.uint8).reshape(5, 800)
    labels = np.array([[1], [2], [10], [6], [1]], dtype=np.uint8)
    path = tmp_path / "office_caltech10_surf" / filename
    _write_mat(path, fts, labels)
    _register_local(monkeypatch, _office_caltech._DOMAINS, domain, path)
    bunch = load_office_caltech10(domain, data_home=tmp_path)
    assert bunch.data.dtype == np.float64
    np.testing.assert_array_equal(bunch.data, fts)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, [0, 1, 9, 5, 0])
    assert list(bunch.target_names[[0, 1, 9, 5]]) == [
        "back_pack",
        "bike",
        "projector",
        "laptop_computer",
    ]
    assert len(bunch.feature_names) == 800 and bunch.frame is None
    assert bunch.domain == domain
    assert "Gong" in bunch.DESCR

    frame_bunch = load_office_caltech10(domain, data_home=tmp_path, as_frame=True)
    assert isinstance(frame_bunch.data, pd.DataFrame)
    assert list(frame_bunch.data.columns) == bunch.feature_names
    assert isinstance(frame_bunch.target, pd.Series)
    assert frame_bunch.target.name == "target"
    assert frame_bunch.frame.shape == (5, 801)
    X, y = load_office_caltech10(
        domain, data_home=tmp_path, return_X_y=True, as_frame=True
    )
    pd.testing.assert_frame_equal(X, frame_bunch.data)
    pd.testing.assert_series_equal(y, frame_bunch.target)


def test_load_office_caltech10_rejects_bad_files(monkeypatch, tmp_path):
    path = tmp_path / "office_caltech10_surf" / "dslr_SURF_L10.mat"
    _write_mat(path, np.zeros((2, 800)), np.array([[0], [3]]))
    _register_local(monkeypatch, _office_caltech._DOMAINS, "dslr", path)
    with pytest.raises(ValueError, match="labels must be in 1..10"):
        load_office_caltech10("dslr", data_home=tmp_path)
    _write_mat(path, np.zeros((2, 10)), np.array([[1], [3]]))
    _register_local(monkeypatch, _office_caltech._DOMAINS, "dslr", path)
    with pytest.raises(ValueError, match=r"fts of shape \(n, 800\)") as info:
        load_office_caltech10("dslr", data_home=tmp_path)
    assert str(path) in str(info.value) and "delete it" in str(info.value)


@pytest.mark.parametrize(
    "damage", ["truncated", "truncated-compressed", "header-only", "garbage", "empty"]
)
def test_load_office_caltech10_rejects_corrupt_mat(monkeypatch, tmp_path, damage):
    savemat = pytest.importorskip("scipy.io").savemat
    path = tmp_path / "office_caltech10_surf" / "webcam_SURF_L10.mat"
    path.parent.mkdir()
    content = {"fts": np.ones((4, 800), np.uint8), "labels": np.ones((4, 1))}
    savemat(path, content, do_compression=damage == "truncated-compressed")
    raw = path.read_bytes()
    damaged = {
        "truncated": raw[: len(raw) // 2],
        "truncated-compressed": raw[: len(raw) // 2],
        "header-only": raw[:128],
        "garbage": b"\x00\x01garbage" * 20,
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    # Registered as-is, so that the reader (not the checksum) has to object.
    _register_local(monkeypatch, _office_caltech._DOMAINS, "webcam", path)
    # A bare header is a valid MAT file, just without the variables.
    match = "no 'fts'" if damage == "header-only" else "not a readable MAT file"
    with pytest.raises(ValueError, match=match) as info:
        load_office_caltech10("webcam", data_home=tmp_path)
    assert str(path) in str(info.value)
    assert "delete it so that it is downloaded again" in str(info.value)
    if damage != "header-only":
        assert info.value.__cause__ is not None


def test_load_office_caltech10_rejects_a_local_file_with_the_wrong_digest(tmp_path):
    # A readable file, but not the registered release: caught before parsing.
    path = tmp_path / "office_caltech10_surf" / "dslr_SURF_L10.mat"
    _write_mat(path, np.ones((2, 800)), np.array([[1], [2]]))
    with pytest.raises(ChecksumError) as info:
        load_office_caltech10("dslr", data_home=tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert _office_caltech._DOMAINS["dslr"].checksum[1] in message
    assert _base._file_digest(path, "sha256") in message
    assert "delete it so that it is downloaded again" in message


def test_load_office_caltech10_invalid_domain(tmp_path):
    with pytest.raises(ValueError, match="domain must be one of"):
        load_office_caltech10("Caltech10", data_home=tmp_path)


def test_load_office_caltech10_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Caltech10_SURF_L10.mat"):
        load_office_caltech10("caltech", data_home=tmp_path, download_if_missing=False)


def test_office_caltech10_download_url_is_pinned():
    remote = _office_caltech._DOMAINS["caltech"]
    assert remote.url == (
        "https://github.com/viggin/domain-adaptation-toolbox/raw/"
        "2a991816a0ac39043b526c2b0cbe01bc844d8890/ToRelease_GFK/data/"
        "Caltech10_SURF_L10.mat"
    )


def test_missing_scipy_gives_install_hint(monkeypatch, tmp_path):
    path = tmp_path / "office_caltech10_surf" / "dslr_SURF_L10.mat"
    path.parent.mkdir()
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match=r'pip install "sktransfer\[data\]"'):
        load_office_caltech10("dslr", data_home=tmp_path)


# -- real data (SKTRANSFER_DATA) --------------------------------------------------


def test_real_mnist_test():
    home = _real_data_home("mnist", "t10k-images-idx3-ubyte.gz")
    bunch = load_mnist(subset="test", data_home=home, download_if_missing=False)
    assert bunch.data.shape == (10000, 1, 28, 28)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(
        np.bincount(bunch.target),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
    np.testing.assert_array_equal(bunch.target[:5], [7, 2, 1, 0, 4])


def _real_mnist_train_home() -> Path:
    """The data directory holding the training images in either form."""
    home = os.environ.get("SKTRANSFER_DATA")
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
    if home and any(Path(home, "mnist", n).is_file() for n in names):
        return _real_data_home("mnist", "train-labels-idx1-ubyte.gz")
    return _real_data_home("mnist", names[0])  # skips, naming the file


def test_real_mnist_train():
    home = _real_mnist_train_home()
    before = sorted(os.listdir(home / "mnist"))
    X, y = load_mnist(
        subset="train", data_home=home, download_if_missing=False, return_X_y=True
    )
    assert X.shape == (60000, 1, 28, 28)
    assert X.dtype == np.float32
    # The normalisation constants everyone uses for MNIST train.
    assert abs(float(X.mean()) - 0.1307) < 1e-4
    assert abs(float(X.std()) - 0.3081) < 1e-4
    if not os.access(home / "mnist", os.W_OK) or not (
        (home / "mnist").stat().st_mode & 0o222
    ):
        # A read-only data directory (CI's) is read, never written.
        assert sorted(os.listdir(home / "mnist")) == before
    np.testing.assert_array_equal(
        np.bincount(y), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    np.testing.assert_array_equal(y[:5], [5, 0, 4, 1, 9])


def test_real_data_through_environment_variable():
    _real_data_home("mnist", "t10k-labels-idx1-ubyte.gz")
    # data_home=None: the SKTRANSFER_DATA directory is used.
    _, y = load_mnist(download_if_missing=False, return_X_y=True)
    assert len(y) == 10000


def test_real_data_is_hashed_once_per_process(monkeypatch):
    home = _real_data_home("mnist", "t10k-images-idx3-ubyte.gz")
    _real_data_home("mnist", "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setattr(_base, "_VERIFIED", {})
    hashed = _count_hashes(monkeypatch)
    load_mnist(data_home=home, download_if_missing=False)
    first = list(hashed)
    assert len(first) <= 2  # none where a writable directory holds sidecars
    load_mnist(data_home=home, download_if_missing=False)
    assert hashed == first  # even in a read-only directory (the memo)
    folder = home / "mnist"
    if not folder.stat().st_mode & 0o222:  # nothing written there, even by root
        assert not [name for name in os.listdir(folder) if name.endswith(".verified")]


USPS_COUNTS = {
    "train": [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644],
    "test": [359, 264, 198, 166, 200, 160, 170, 147, 166, 177],
}
USPS_FIRST = {"train": [6, 5, 4, 7, 3], "test": [9, 6, 3, 6, 6]}


@pytest.mark.parametrize("subset, n", [("train", 7291), ("test", 2007)])
def test_real_usps(subset, n):
    home = _real_data_home("usps", "usps.h5")
    pytest.importorskip("h5py")
    bunch = load_usps(subset=subset, data_home=home, download_if_missing=False)
    assert bunch.data.shape == (n, 1, 16, 16)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() >= 0.0 and bunch.data.max() <= 1.0
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(bunch.target), USPS_COUNTS[subset])
    np.testing.assert_array_equal(bunch.target[:5], USPS_FIRST[subset])


OFFICE = {
    "amazon": ("amazon_SURF_L10.mat", [92, 82, 94, 99, 100, 100, 99, 100, 94, 98]),
    "webcam": ("webcam_SURF_L10.mat", [29, 21, 31, 27, 27, 30, 43, 30, 27, 30]),
    "dslr": ("dslr_SURF_L10.mat", [12, 21, 12, 13, 10, 24, 22, 12, 8, 23]),
    "caltech": (
        "Caltech10_SURF_L10.mat",
        [151, 110, 100, 138, 85, 128, 133, 94, 87, 97],
    ),
}


@pytest.mark.parametrize(
    "domain, n", [("amazon", 958), ("webcam", 295), ("dslr", 157), ("caltech", 1123)]
)
def test_real_office_caltech10(domain, n):
    filename, counts = OFFICE[domain]
    home = _real_data_home("office_caltech10_surf", filename)
    pytest.importorskip("scipy")
    X, y = load_office_caltech10(
        domain, data_home=home, download_if_missing=False, return_X_y=True
    )
    assert X.shape == (n, 800) and X.dtype == np.float64
    assert X.min() == 0.0
    assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    np.testing.assert_array_equal(np.bincount(y), counts)


def test_real_office_caltech10_as_frame():
    home = _real_data_home("office_caltech10_surf", "webcam_SURF_L10.mat")
    pytest.importorskip("scipy")
    bunch = load_office_caltech10("webcam", data_home=home, as_frame=True)
    assert bunch.frame.shape == (295, 801)
    assert bunch.target.value_counts().sort_index().tolist() == OFFICE["webcam"][1]

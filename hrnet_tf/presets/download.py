"""Downloading a preset's checkpoint once, verified by its hash before anything is kept.

``keras.utils.get_file`` semantics, with the checks a pretrained-weights download needs:

* the cache is ``$KERAS_HOME/hrnet_tf`` (``~/.keras/hrnet_tf`` without ``KERAS_HOME``,
  ``/tmp/.keras/hrnet_tf`` when that is not writable), downloads in its ``downloads/`` folder;
* the file streams into a temporary name beside its final one and is hashed on the way; only a file
  whose SHA-256 matches the preset's hash (or its published 8-digit prefix) is renamed into place. A
  mismatch or a truncated transfer raises one error naming the preset, the URL, the expected and the
  actual hash, and leaves nothing behind;
* ``HRNET_TF_WEIGHTS_URL=https://mirror.example/path`` replaces the scheme, host and leading path of
  every preset URL: the file is fetched from ``https://mirror.example/path/<the URL's path>`` (a
  mirror keeps the origin servers' paths);
* ``HRNET_TF_OFFLINE=1`` never touches the network: what is not in the cache is an error;
* a progress bar on stderr while downloading (stdout stays clean for ``--json``).

    >>> download_url("https://download.openmmlab.com/mmpose/top_down/x.pth", mirror="https://mirror.example/hrnet")
    'https://mirror.example/hrnet/mmpose/top_down/x.pth'
"""

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from hrnet_tf.errors import ModelFileError

MIRROR_ENV = "HRNET_TF_WEIGHTS_URL"
OFFLINE_ENV = "HRNET_TF_OFFLINE"
CHUNK = 1 << 20


def cache_dir():
    """``$KERAS_HOME/hrnet_tf``, as ``keras.utils.get_file`` chooses its cache (``/tmp/.keras`` when the
    home directory is not writable)."""
    root = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    existing = next(p for p in (root, *root.parents) if p.exists())  # the folder that would hold it
    if not os.access(existing, os.W_OK):
        root = Path(tempfile.gettempdir()) / ".keras"
    return root / "hrnet_tf"


def offline():
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def download_url(url, mirror=None):
    """``url`` with scheme and host replaced by ``mirror`` (scheme, host and leading path; default
    ``$HRNET_TF_WEIGHTS_URL``), the URL's path kept; ``url`` itself without a mirror."""
    mirror = (os.environ.get(MIRROR_ENV, "") if mirror is None else mirror).strip()
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + urllib.parse.urlsplit(url).path.lstrip("/")


def downloaded_path(preset):
    """Where the verified download of ``preset`` is kept (named by preset and hash, since several
    sources call their files ``model.safetensors``)."""
    tag = preset.sha256[:8] if preset.sha256 else "unverified"
    return cache_dir() / "downloads" / f"{preset.name}-{tag}{preset.file_suffix}"


def _progress(total, name):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr,
                leave=False, disable=None)


def fetch(preset):
    """The path of ``preset``'s verified download: from the cache, else downloaded now."""
    target = downloaded_path(preset)
    if target.is_file():
        return target
    url = download_url(preset.url)
    if offline():
        raise ModelFileError(
            f"preset {preset.name!r} is not in the cache ({cache_dir()}) and {OFFLINE_ENV}=1 forbids "
            f"downloading it from {url}; unset {OFFLINE_ENV}, or copy {cache_dir()} from a machine that "
            f"ran python -m hrnet_tf.presets --fetch {preset.name}"
        )
    if preset.sha256 is None:
        raise ModelFileError(
            f"preset {preset.name!r} has no published hash to verify {url} against; download it "
            "yourself and pass the file as weights="
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    try:
        received, expected_size = _stream(preset, url, partial)
        actual = _sha256(partial)
        if not actual.startswith(preset.sha256):
            truncated = ""
            if expected_size is not None and received != expected_size:
                truncated = f"; the transfer ended after {received} of {expected_size} bytes"
            raise ModelFileError(
                f"preset {preset.name!r}: the file downloaded from {url} does not match its hash: "
                f"expected {preset.hash_kind} {preset.sha256}, got {actual} ({received} bytes{truncated}); "
                "nothing was kept"
            )
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    return target


def _stream(preset, url, path):
    """Writes the response body to ``path``; returns (bytes received, Content-Length or None). A
    connection closed mid-file is not an error here: the hash check reports it."""
    request = urllib.request.Request(url, headers={"User-Agent": "hrnet_tf"})
    try:
        response = urllib.request.urlopen(request, timeout=60)  # noqa: S310 - http(s) URLs of the table
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise ModelFileError(
            f"preset {preset.name!r}: cannot download {url} ({reason}); set {MIRROR_ENV} to a mirror "
            "that holds the file, or download it yourself and pass the file as weights="
        ) from None
    received = 0
    with response, open(path, "wb") as out:
        length = response.headers.get("Content-Length")
        expected_size = int(length) if length and length.isdigit() else None
        with _progress(expected_size, preset.name) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
                    chunk = getattr(e, "partial", b"") or b""
                    out.write(chunk)
                    received += len(chunk)
                    break
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    return received, expected_size


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["cache_dir", "download_url", "downloaded_path", "fetch", "offline"]

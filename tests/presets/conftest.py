"""Preset tests never touch the network: the Keras cache is a temporary folder, every download goes to
``HRNET_TF_WEIGHTS_URL`` (by default a closed port on 127.0.0.1), and the checkpoints are served by a
threaded ``http.server`` on 127.0.0.1 that the test fills."""

import hashlib
import http.server
import threading
from dataclasses import replace

import pytest

from hrnet_tf.presets import PRESETS, Preset
from hrnet_tf.presets.download import MIRROR_ENV, OFFLINE_ENV


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """An empty Keras cache per test; downloads blocked unless a test points them at its server."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv(MIRROR_ENV, "http://127.0.0.1:9/no-network-in-tests")
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    return home / "hrnet_tf"


def cached_files(cache):
    if not cache.exists():
        return []
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())


class WeightsServer:
    """Serves ``files`` ({url path: bytes}); ``truncate`` sends the full Content-Length but only half
    the body, then closes the connection."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self.truncate = False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if server.truncate else body)
                if server.truncate:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mirror"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path, body):
        self.files["/mirror" + path] = body

    def stop(self):
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


@pytest.fixture
def weights_server(monkeypatch):
    server = WeightsServer()
    monkeypatch.setenv(MIRROR_ENV, server.url)
    yield server
    server.stop()


TEMPLATE = Preset(
    name="template", task="classification", constructor="HRNetClassifier", kwargs={}, input_size=(64, 64),
    url="https://weights.example/fixtures/none.safetensors", sha256="0" * 64, layout="official",
    dataset="test", metric="-", metrics={}, metric_source="this test", url_source="this test",
)


@pytest.fixture
def register(monkeypatch):
    """Adds a test-only preset to the table for the test's duration."""

    def add(name, body=None, **fields):
        if body is not None:
            fields["sha256"] = hashlib.sha256(body).hexdigest()
        preset = replace(TEMPLATE, name=name, **fields)
        monkeypatch.setitem(PRESETS, name, preset)
        return preset

    return add

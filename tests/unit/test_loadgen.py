"""The bench measures with wrk or not at all: no in-process client stands in for it."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import loadgen


def test_without_wrk_the_bench_stops_and_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no wrk on the PATH
    with pytest.raises(SystemExit) as stopped:
        loadgen.run(loadgen.Load("GET", "http://127.0.0.1:9/", {}), 1)
    assert "wrk" in str(stopped.value.code) and "make bench" in str(stopped.value.code)


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        status = 200 if self.headers.get("x-token") == "ok" else 403
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.mark.slow
def test_wrk_sends_the_method_headers_and_body_and_its_figures_are_read() -> None:
    if shutil.which("wrk") is None:
        pytest.fail(loadgen.MISSING)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/push"
        good = loadgen.run(loadgen.Load("POST", url, {"x-token": "ok"}, b'{"a": 1}'), 1, connections=2)
        bad = loadgen.run(loadgen.Load("POST", url, {"x-token": "no"}, b"{}"), 1, connections=2)
    finally:
        server.shutdown()
        server.server_close()
    assert good.rps > 0 and good.p99_ms > 0 and good.non_2xx == 0 and good.tool == "wrk -t2 -c2"
    assert bad.rps > 0 and bad.non_2xx > 0

"""``mockline serve --workers N``: N worker processes serving one port, as one mock.

The parent binds the port and starts N processes (``spawn``: none inherits the parent's threads or
connections); each builds its own app from the same settings and serves its socket with the listener of
``listener.py`` (its limits included). Each worker has a socket of its own on the port (``SO_REUSEPORT``),
so the kernel spreads connections evenly over the workers; without that option they share one socket.
Being one mock needs one state: ``--state redis://`` (``redis_state.py``), which every worker opens under
the same namespace. A worker that dies is started again; the parent stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from mockserver.redis_state import is_redis
from mockserver.settings import Settings

_RESTART_PAUSE = 0.5


def check_workers(settings: Settings) -> None:
    """More than one worker needs a state the workers share; say why otherwise."""
    if settings.workers < 1:
        raise ValueError(f"--workers takes a number of processes, 1 or more, not {settings.workers}")
    if settings.workers > 1 and not is_redis(settings.state):
        raise ValueError(
            f"--workers {settings.workers} needs --state redis://HOST:PORT/DB: with --state {settings.state}"
            " each worker would keep a state of its own (its own calls, clock and callbacks), so requests"
            " spread over them would see different mocks"
        )


def bind(settings: Settings, *, port: int | None = None, reuse_port: bool = False) -> socket.socket:
    """A listening socket on the settings' host and port (or ``port``), inherited by the workers."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((settings.host.strip("[]"), settings.port if port is None else port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_each(settings: Settings) -> list[socket.socket]:
    """One listening socket per worker on the one port, with ``SO_REUSEPORT``: the kernel spreads new
    connections evenly over them (by a hash of each connection's addresses). With one shared socket the
    worker that happens to be waiting in ``accept`` takes them, and a burst of connections (a load
    generator opening 50) could land 12 on one worker and 38 on the other. Where ``SO_REUSEPORT`` is
    missing, the workers share one socket."""
    if not hasattr(socket, "SO_REUSEPORT") or settings.workers < 2:
        return [bind(settings)] * settings.workers
    socks: list[socket.socket] = []
    port = settings.port
    try:
        for _ in range(settings.workers):
            socks.append(bind(settings, port=port, reuse_port=True))
            port = socks[-1].getsockname()[1]  # port 0: the others take the port the first one was given
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


Worker = Callable[[Settings, socket.socket, int], None]
"""A worker's body: (settings, the shared socket, its index); a module-level function (``spawn`` pickles it)."""


def supervise(settings: Settings, worker: Worker) -> int:
    socks = bind_each(settings)
    context = multiprocessing.get_context("spawn")
    workers: dict[int, BaseProcess] = {}
    stopping = False

    def start(index: int) -> None:
        # A worker started again serves the socket of the one that died (the parent keeps it open, so
        # connections the kernel queued on it meanwhile are answered once the new worker is up).
        sock = socks[index % settings.workers]
        process = context.Process(target=worker, args=(settings, sock, index), daemon=False)
        process.start()
        workers[index] = process

    def stop(*_args: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for index in range(settings.workers):
        start(index)
    while not stopping:
        time.sleep(_RESTART_PAUSE)
        for index, process in list(workers.items()):
            if not process.is_alive() and not stopping:
                print(
                    f"mockline: worker {index} (pid {process.pid}) exited ({process.exitcode}); starting another",
                    file=sys.stderr,
                    flush=True,
                )
                start(index + settings.workers)  # a new index: only the first start prints the banner
                del workers[index]
    for process in workers.values():
        process.terminate()
    for process in workers.values():
        process.join(10)
    for sock in set(socks):
        sock.close()
    return 0

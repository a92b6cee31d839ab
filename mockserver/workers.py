"""``mockline serve --workers N``: N worker processes serving one port, as one mock.

The parent binds the listening socket once and starts N processes (``spawn``: none inherits the parent's
threads or connections); each builds its own app from the same settings and serves the shared socket with
the listener of ``listener.py`` (its limits included), the kernel handing each connection to one of them.
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


def bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host.strip("[]"), settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


Worker = Callable[[Settings, socket.socket, int], None]
"""A worker's body: (settings, the shared socket, its index); a module-level function (``spawn`` pickles it)."""


def supervise(settings: Settings, worker: Worker) -> int:
    sock = bind(settings)
    context = multiprocessing.get_context("spawn")
    workers: dict[int, BaseProcess] = {}
    stopping = False

    def start(index: int) -> None:
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
    sock.close()
    return 0

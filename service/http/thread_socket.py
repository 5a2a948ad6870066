"""A connection's socket for a worker thread that sends or receives on it directly
(service/http/sendfile.py, socket_body.py): a duplicate of the descriptor, so that it
stays open until the thread is done with it whatever happens to the transport (no
descriptor number the thread uses can be reused for something else meanwhile), and a
stop that shuts the connection down, which ends the thread's wait at once."""

import contextlib
import os
import select
import socket
import threading

_WAKE_MS = 1000
"""How long a thread waits for the socket before checking whether it was stopped (a stop
also shuts the socket down, which wakes it at once: this is a backstop)."""


class ThreadSocket:
    """A duplicate of the non-blocking socket `fd`, waited on for `events` (select.POLLIN
    or POLLOUT)."""

    def __init__(self, fd: int, events: int) -> None:
        self.socket = socket.socket(fileno=os.dup(fd))
        self.stopped = threading.Event()
        self._poller = select.poll()
        self._poller.register(self.socket.fileno(), events)
        self._lock = threading.Lock()  # `_closed` and the shutdown of `socket`
        self._closed = False

    def wait(self) -> None:
        """Until the socket is ready, fails, is shut down, or a while has passed.
        POLLERR and POLLHUP end the wait too: the next call on the socket then tells."""
        self._poller.poll(_WAKE_MS)

    def stop(self) -> None:
        """Mark it stopped and shut the connection down (from any thread)."""
        self.stopped.set()
        with self._lock:
            if not self._closed:
                with contextlib.suppress(OSError):  # already shut down by the peer
                    self.socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> bool:
        """Close the duplicate; whether this call closed it (False if closed before)."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self.socket.close()
            return True

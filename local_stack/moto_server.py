"""moto's server, in-process on a thread, with DynamoDB requests made linearizable and writes made durable."""

from __future__ import annotations

import io
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from local_stack import moto_patches
from local_stack.persistence import DataStore

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedDynamoDB:
    """WSGI middleware taking one global lock around every DynamoDB request, and committing what each
    writing request wrote to the data directory (``store``) before its response leaves.

    moto's DynamoDB backend is not linearizable under concurrent requests (lost updates were seen with
    8 threads), while the service relies on conditional writes and transactions being atomic.
    """

    def __init__(self, app: WSGIApp, store: DataStore | None = None) -> None:
        self._app = app
        self._store = store
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            # Read the request before taking the lock: a slow or stalled client must not hold up others.
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length) if length > 0 else b"")
            with self._lock:
                return self._complete(environ, start_response)
        if self._store is None or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._app(environ, start_response)  # reads stream their bodies
        return self._complete(environ, start_response)

    def _complete(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        result = self._app(environ, start_response)
        try:
            body = [b"".join(result)]  # the body is produced lazily: produce it all before committing
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if self._store is not None:
            self._store.flush()
        return body


class MotoServer:
    """moto's DynamoDB/S3/... server on 127.0.0.1 in a daemon thread (``port=0`` picks a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, store: DataStore | None = None) -> None:
        self._host = host
        self._port = port
        self._store = store
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("moto server not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        # Imported on start: importing moto takes about a second.
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        moto_patches.install()
        moto_patches.attach(self._store)
        app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app), self._store)
        handler = _keep_alive_handler()
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto", daemon=True
        )
        self._thread.start()
        return self.url

    def reset(self) -> None:
        """Forget every table, bucket and object (moto keeps its backends in process globals)."""
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        moto_patches.attach(None)


def _keep_alive_handler() -> type:
    """moto's request handler, answering on connections that stay open.

    werkzeug's development server closes the connection after every answer, so each AWS call paid a
    new TCP connection and a new server thread (about 0.5 ms here; an upload makes 13 calls). This
    handler keeps moto's environ (its handling of header names) and replaces only werkzeug's
    `run_wsgi`: the request body is a stream limited to its Content-Length, drained after the app
    answers (a chunked body: read to its last chunk), so the next request on the connection starts
    where it should. An answer without a Content-Length still ends with the connection.
    """
    from moto.server import MotoRequestHandler
    from werkzeug.wsgi import LimitedStream

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: with Nagle on, the body waits for the client's
        # delayed ACK of the headers, up to 40 ms per call.
        disable_nagle_algorithm = True

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # one line per AWS call would drown the gateway's own request log

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.make_environ()
            body = environ["wsgi.input"]  # a chunked body: werkzeug's reader, which stops at its end
            if not environ.get("wsgi.input_terminated"):
                body = LimitedStream(self.rfile, int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"], environ["wsgi.input_terminated"] = body, True
            answer: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return _unsupported_write

            sent = False
            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks = iter(result)
                    first = next(chunks, b"")  # an app may call start_response with its first chunk
                    status, headers = answer
                    code, _, reason = status.partition(" ")
                    self.send_response(int(code), reason)
                    for name, value in headers:
                        self.send_header(name, value)
                    has_length = any(name.lower() == "content-length" for name, _ in headers)
                    ends_itself = has_length or self.command == "HEAD" or int(code) in (204, 304)
                    if not ends_itself:
                        self.send_header("Connection", "close")  # its body ends where the connection does
                    self.end_headers()
                    sent = True
                    if self.command != "HEAD" and int(code) not in (204, 304):  # else no body, ever
                        self.wfile.write(first)
                        for chunk in chunks:
                            self.wfile.write(chunk)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except (ConnectionError, TimeoutError):
                self.close_connection = True
                return
            except Exception:
                self.close_connection = True
                self.log_error("moto failed: %s", traceback.format_exc())
                if not sent:
                    self.send_error(500)
                return
            try:
                while not self.close_connection and body.read(65536):
                    pass  # what the app left unread: the next request starts after it
            except OSError:  # a malformed chunked body: nothing sure follows it
                self.close_connection = True

    return KeepAliveHandler


def _unsupported_write(data: bytes) -> None:
    raise NotImplementedError("WSGI write(): moto answers with the iterable it returns")

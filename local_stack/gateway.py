"""The API Gateway HTTP API emulator: route, authorize, invoke the Lambda, translate its reply."""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_stack.events import (
    LAMBDA_PAYLOAD_LIMIT,
    HttpRequest,
    HttpResponse,
    InvalidResponse,
    RequestMeta,
    authorization,
    authorizer_event,
    function_url_event,
    http_event,
    http_response,
    json_response,
    query_parameters,
)
from local_stack.lambda_runtime import FunctionSpec, Invocation, Invoker, InvokeResult
from local_stack.routing import RouteMatch, Router
from local_stack.template import Authorizer, Route

HTTP_API_PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway refuses larger requests before anything else
AUTHORIZER_TIMEOUT_SECONDS = 10  # HTTP API gives a Lambda authorizer at most 10 s

NOT_FOUND = json_response(404, "Not Found")
UNAUTHORIZED = json_response(401, "Unauthorized")
FORBIDDEN = json_response(403, "Forbidden")
TOO_LARGE = json_response(413, "Request Entity Too Large")
INTERNAL_ERROR = json_response(500, "Internal Server Error")
UNAVAILABLE = json_response(503, "Service Unavailable")


@dataclass(frozen=True)
class _Denied:
    response: HttpResponse


class Gateway:
    """API Gateway's request handling, independent of the HTTP server in front of it."""

    def __init__(
        self,
        routes: list[Route],
        authorizers: dict[str, Authorizer],
        functions: dict[str, FunctionSpec],
        invoker: Invoker,
        region: str = "us-east-1",
    ) -> None:
        self._router = Router(routes)
        self._authorizers = authorizers
        self._functions = functions
        self._invoker = invoker
        self._region = region

    def handle(self, request: HttpRequest) -> HttpResponse:
        meta = RequestMeta.now(str(uuid.uuid4()))
        response = self._handle(request, meta)
        return HttpResponse(
            response.status, [*response.headers, ("Apigw-Requestid", meta.request_id)], response.body
        )

    def _handle(self, request: HttpRequest, meta: RequestMeta) -> HttpResponse:
        match = self._router.match(request.method, request.raw_path)
        if match is None:
            return NOT_FOUND
        event = http_event(request, match, meta)
        if match.route.authorizer is not None:
            verdict = self._authorize(self._authorizers[match.route.authorizer], request, match, meta)
            if isinstance(verdict, _Denied):
                return verdict.response
            event["requestContext"]["authorizer"] = {"lambda": verdict}
        event_json = json.dumps(event)
        if len(event_json) > LAMBDA_PAYLOAD_LIMIT:
            return TOO_LARGE
        return self._integrate(match.route, event_json, meta)

    def _authorize(
        self, authorizer: Authorizer, request: HttpRequest, match: RouteMatch, meta: RequestMeta
    ) -> dict[str, Any] | _Denied:
        # API Gateway caches a verdict for ReauthorizeEvery seconds keyed on the identity source; the
        # local stack asks the authorizer every time so a changed credential takes effect at once.
        identity = identity_source(authorizer, request)
        if identity is None:
            return _Denied(UNAUTHORIZED)  # API Gateway answers without calling the authorizer
        event = authorizer_event(request, match, meta, identity, self._region)
        function = self._functions[authorizer.function]
        wait = min(function.timeout, AUTHORIZER_TIMEOUT_SECONDS)
        result = self._invoke(function, json.dumps(event), meta, wait)
        if result.payload is None:
            _complain(function, meta, _failure(result, wait))
            return _Denied(INTERNAL_ERROR)
        try:
            context = authorization(json.loads(result.payload))
        except InvalidResponse as error:
            _complain(function, meta, f"invalid authorizer response: {error}")
            return _Denied(INTERNAL_ERROR)
        return _Denied(FORBIDDEN) if context is None else context

    def _integrate(self, route: Route, event_json: str, meta: RequestMeta) -> HttpResponse:
        function = self._functions[route.function]
        integration_timeout = route.timeout_ms / 1000
        wait = min(function.timeout, integration_timeout)
        result = self._invoke(function, event_json, meta, wait)
        if result.timed_out and function.timeout > integration_timeout:
            _complain(function, meta, f"integration timed out after {route.timeout_ms} ms")
            return UNAVAILABLE  # API Gateway gave up before the Lambda did
        if result.payload is None:
            _complain(function, meta, _failure(result, wait))
            return INTERNAL_ERROR
        if len(result.payload) > LAMBDA_PAYLOAD_LIMIT:
            _complain(function, meta, "response exceeds Lambda's 6 MB payload limit")
            return INTERNAL_ERROR
        try:
            return http_response(json.loads(result.payload))
        except InvalidResponse as error:
            _complain(function, meta, f"malformed Lambda response: {error}")
            return INTERNAL_ERROR

    def _invoke(
        self, function: FunctionSpec, event_json: str, meta: RequestMeta, wait: float
    ) -> InvokeResult:
        return self._invoker.invoke(Invocation(function, event_json, meta.request_id), wait)


class FunctionUrlGateway:
    """A Lambda function URL (AuthType NONE, BUFFERED): every method and path goes to one function."""

    def __init__(self, function: FunctionSpec, invoker: Invoker) -> None:
        self._function = function
        self._invoker = invoker

    def handle(self, request: HttpRequest) -> HttpResponse:
        meta = RequestMeta.now(str(uuid.uuid4()))
        event_json = json.dumps(function_url_event(request, meta))
        if len(event_json) > LAMBDA_PAYLOAD_LIMIT:
            return TOO_LARGE  # Lambda refuses the invoke; the function never runs
        result = self._invoker.invoke(
            Invocation(self._function, event_json, meta.request_id), self._function.timeout
        )
        if result.payload is None:
            _complain(self._function, meta, _failure(result, self._function.timeout))
            return INTERNAL_ERROR
        if len(result.payload) > LAMBDA_PAYLOAD_LIMIT:
            _complain(self._function, meta, "response exceeds Lambda's 6 MB payload limit")
            return INTERNAL_ERROR
        try:
            response = http_response(json.loads(result.payload))
        except InvalidResponse as error:
            _complain(self._function, meta, f"malformed Lambda response: {error}")
            return INTERNAL_ERROR
        return HttpResponse(
            response.status, [*response.headers, ("X-Amzn-Requestid", meta.request_id)], response.body
        )


def identity_source(authorizer: Authorizer, request: HttpRequest) -> list[str] | None:
    """The identity source values, or None when one is missing or empty (API Gateway answers 401)."""
    query = query_parameters(request.raw_query)
    values = [request.header(name) for name in authorizer.identity_headers]
    values += [query.get(name) for name in authorizer.identity_query_strings]
    if not all(values):
        return None
    return [str(value) for value in values]


def _failure(result: InvokeResult, wait: float) -> str:
    return f"Task timed out after {wait:g} seconds" if result.timed_out else str(result.error)


def _complain(function: FunctionSpec, meta: RequestMeta, message: str) -> None:
    """Why a request got a 5xx, on stderr (where CloudWatch Logs would have it), never in the response."""
    print(f"[{function.name}] {meta.request_id} {message}", file=sys.stderr)


class BodyError(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` handled for us
    disable_nagle_algorithm = True  # else a response's body waits for the client's delayed ACK of its headers
    server_version = "CloudSavesLocal"
    server: GatewayServer

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=self._read_body(),
                source_ip=self.client_address[0],
                server_port=self.server.server_port,
                protocol=self.request_version,
            )
            response = self.server.gateway.handle(request)
        except BodyError as error:
            response = error.response
            self.close_connection = True  # the rest of the body may still be on the wire
        except Exception:
            print(f"local gateway failed on {self.command} {self.path}:", file=sys.stderr)
            traceback.print_exc()
            response = INTERNAL_ERROR
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The query string is left out: it can carry credentials.
        print(f"{self.command} {self.path.split('?', 1)[0]} {response.status} {elapsed_ms:.0f}ms", flush=True)
        self._write(response)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the gateway, which answers what the API has no route for (TRACE, MKCOL
        # on the HTTP API...) with API Gateway's JSON 404 rather than http.server's HTML 501. A function
        # URL passes every method (WebDAV's MKCOL and MOVE too) to its function.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BodyError(json_response(400, "Bad Request")) from None
        if length > HTTP_API_PAYLOAD_LIMIT:
            self._discard(length)
            raise BodyError(TOO_LARGE)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyError(json_response(400, "Bad Request")) from None
            if size == 0:
                while self.rfile.readline(8192).strip():
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > HTTP_API_PAYLOAD_LIMIT:
                raise BodyError(TOO_LARGE)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk

    def _discard(self, length: int) -> None:
        """Read and drop a refused body, so the client sees the 413 rather than a reset connection."""
        while length > 0:
            read = self.rfile.read(min(length, 1 << 16))
            if not read:
                return
            length -= len(read)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass  # replaced by the one line per request written in _serve


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow client must not hold up shutdown
    request_queue_size = 128  # the default backlog of 5 resets connections under a load test

    def __init__(self, address: tuple[str, int], gateway: Gateway | FunctionUrlGateway) -> None:
        super().__init__(address, _RequestHandler)
        self.gateway = gateway

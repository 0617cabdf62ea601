"""Lambda execution environments: load a function's handler and invoke it, in worker processes or in-process.

Only the standard library is imported here: every worker process imports this module at boot.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

INIT_SECONDS = 10  # Lambda's init phase has its own 10 s budget, outside the function timeout
INITIALIZED = "initialized"  # a worker's message between the init phase and the handler call


@dataclass(frozen=True)
class FunctionSpec:
    """What an execution environment needs to know about a function (picklable for workers)."""

    name: str
    code_dir: str
    handler: str  # "app.lambda_handler"
    timeout: int
    memory_size: int
    arn: str

    @property
    def module_name(self) -> str:
        """A unique name per code file: every function's ``app.py`` must not collide in sys.modules."""
        module = self.handler.rsplit(".", 1)[0]
        suffix = "" if module == "app" else "_" + module
        return re.sub(r"\W", "_", f"cloudsaves_fn_{Path(self.code_dir).name}{suffix}")

    @property
    def file(self) -> Path:
        return Path(self.code_dir, *self.handler.rsplit(".", 1)[0].split(".")).with_suffix(".py")


@dataclass(frozen=True)
class Invocation:
    function: FunctionSpec
    event_json: str
    request_id: str


@dataclass(frozen=True)
class InvokeResult:
    payload: str | None = None  # the handler's return value, JSON-serialized as the runtime does
    error: str | None = None  # "ErrorType: message" when the function failed (details go to stderr)
    timed_out: bool = False


class LambdaContext:
    """The context object the Python runtime passes to handlers."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, function: FunctionSpec, request_id: str) -> None:
        self.function_name = function.name
        self.memory_limit_in_mb = function.memory_size
        self.invoked_function_arn = function.arn
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/[$LATEST]{request_id.replace('-', '')}"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Handlers:
    """Handlers loaded on first use and kept, as a warm Lambda container keeps its module."""

    def __init__(self) -> None:
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()

    def get(self, function: FunctionSpec) -> Callable[[Any, Any], Any]:
        with self._lock:  # concurrent first requests load the module once
            module = self._modules.get(function.module_name)
            if module is None:
                module = self._modules[function.module_name] = load_module(function)
        return getattr(module, function.handler.rsplit(".", 1)[1])


def load_module(function: FunctionSpec) -> ModuleType:
    spec = importlib.util.spec_from_file_location(function.module_name, function.file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function.file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[function.module_name] = module  # pydantic and dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[function.module_name]
        raise
    return module


def _to_json(result: Any) -> str:
    """The Python runtime's serializer: Decimal (from DynamoDB) becomes a number."""

    def default(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    return json.dumps(result, default=default)


def run(
    handlers: Handlers, invocation: Invocation, on_init: Callable[[], None] = lambda: None
) -> InvokeResult:
    """Load (once) and call the handler; ``on_init`` marks the end of the init phase."""
    function = invocation.function
    try:
        handler = handlers.get(function)
        on_init()
        result = handler(json.loads(invocation.event_json), LambdaContext(function, invocation.request_id))
        return InvokeResult(payload=_to_json(result))
    except (Exception, SystemExit) as error:
        # The traceback goes where CloudWatch Logs would get it, never into the HTTP response.
        print(f"[{function.name}] {invocation.request_id} failed:", file=sys.stderr)
        traceback.print_exc()
        return InvokeResult(error=f"{type(error).__name__}: {error}")


class Invoker(Protocol):
    def invoke(self, invocation: Invocation, wait_seconds: float) -> InvokeResult: ...

    def close(self) -> None: ...


class InProcessInvoker:
    """Handlers run in the gateway's own process (breakpoints work), one invocation at a time.

    Serialized because Powertools' resolver keeps the current event in class attributes
    (``BaseRouter.current_event``): two invocations in threads would read each other's requests.
    """

    def __init__(self) -> None:
        self._handlers = Handlers()
        self._lock = threading.Lock()

    def invoke(self, invocation: Invocation, wait_seconds: float) -> InvokeResult:
        with self._lock:
            return run(self._handlers, invocation)

    def close(self) -> None:
        pass


def worker_main(connection: Connection) -> None:
    """A worker process: one execution environment serving one invocation at a time, until told to stop."""
    handlers = Handlers()
    while True:
        try:
            invocation = connection.recv()
        except (EOFError, OSError):
            return  # the gateway went away
        if invocation is None:
            return
        connection.send(run(handlers, invocation, on_init=lambda: connection.send(INITIALIZED)))


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen[bytes]
    connection: Connection

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.connection.send(None)

    def stop(self, grace_seconds: float = 0) -> None:
        try:
            self.process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.connection.close()


class ProcessInvoker:
    """A pool of worker processes, each one Lambda execution environment: it runs one invocation at a
    time and keeps its loaded modules warm. Concurrent requests get concurrent environments, so module
    state (Powertools' current event, cached settings, metrics) is never shared between two requests.
    Timeouts are enforced by killing the environment, as Lambda does. Workers get ``environment``
    (default: os.environ now) and this process's sys.path, whatever happens to either later."""

    def __init__(
        self, max_workers: int = 16, warm_workers: int = 0, environment: dict[str, str] | None = None
    ) -> None:
        self._environment = {
            **(os.environ if environment is None else environment),
            "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
            "PYTHONUNBUFFERED": "1",  # function logs show up as they happen
        }
        self._max_workers = max_workers
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._count = 0  # live workers plus those being spawned
        self._available = threading.Condition()
        self._closed = False
        for _ in range(min(warm_workers, max_workers)):
            self._count += 1
            self._idle.append(self._spawn())

    def invoke(self, invocation: Invocation, wait_seconds: float) -> InvokeResult:
        worker = self._acquire()
        reusable = False
        try:
            worker.connection.send(invocation)
            for limit in (INIT_SECONDS, wait_seconds):
                if not worker.connection.poll(limit):
                    return InvokeResult(timed_out=True)
                message = worker.connection.recv()
                if isinstance(message, InvokeResult):
                    reusable = True
                    return message
            raise EOFError("no result after the handler ran")
        except (EOFError, OSError):
            return InvokeResult(error="Runtime.ExitError: the function's process exited")
        finally:
            self._release(worker, reusable)

    def close(self) -> None:
        with self._available:
            self._closed = True
            workers, self._idle = list(self._all), []
            self._available.notify_all()
        for worker in workers:
            worker.ask_to_stop()
        for worker in workers:
            worker.stop(grace_seconds=2)

    def _acquire(self) -> _Worker:
        with self._available:
            while not self._idle and self._count >= self._max_workers and not self._closed:
                self._available.wait()
            if self._closed:
                raise RuntimeError("the local stack is shutting down")
            if self._idle:
                return self._idle.pop()  # most recently used first: its modules are the warmest
            self._count += 1  # reserve the slot; spawn outside the lock
        try:
            return self._spawn()
        except BaseException:
            with self._available:
                self._count -= 1
                self._available.notify()
            raise

    def _spawn(self) -> _Worker:
        # A plain subprocess, not multiprocessing: nothing re-imports the caller's __main__ module.
        parent_end, child_end = socket.socketpair()
        with child_end:
            process = subprocess.Popen(
                [sys.executable, "-m", "local_stack.worker", str(child_end.fileno())],
                pass_fds=[child_end.fileno()],
                env=self._environment,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches only the gateway, which then stops its workers
            )
        worker = _Worker(process, Connection(parent_end.detach()))
        with self._available:
            self._all.add(worker)
        return worker

    def _release(self, worker: _Worker, reusable: bool) -> None:
        with self._available:
            if reusable and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                self._count -= 1
            self._available.notify()
        if not reusable:
            worker.stop()

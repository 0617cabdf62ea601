"""The whole local stack: moto, the tables and bucket, the API gateway and the Lambda environments."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local_stack.gateway import FunctionUrlGateway, Gateway, GatewayServer
from local_stack.lambda_runtime import FunctionSpec, InProcessInvoker, Invocation, Invoker, ProcessInvoker
from local_stack.moto_server import MotoServer
from local_stack.persistence import DataStore
from local_stack.resolver import NO_VALUE, Resolver
from local_stack.resources import create_all
from local_stack.template import Template, load_template

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_DATA_DIR = REPO_ROOT / ".local-data"
HOST = "127.0.0.1"
# A missing one of these means the layer has no ensure_admin yet; any other ImportError is a real bug.
_ADMIN_MODULES = {"cloudsaves", "cloudsaves.services", "cloudsaves.services.users"}


class LocalStackError(RuntimeError):
    """The local stack cannot start (the message says why)."""


def function_environment(template: Template, resolver: Resolver) -> tuple[dict[str, str], list[str]]:
    """Every function's resolved variables (they all share one process environment here), and the names
    left unset because they only resolve in AWS. Two functions disagreeing on a value is an error."""
    merged: dict[str, tuple[str, str]] = {}  # name -> (value, function that set it)
    unresolved: set[str] = set()
    for function in template.functions.values():
        for name, raw in function.environment.items():
            value = resolver.resolve_or(raw)
            if value is NO_VALUE:
                continue  # unset in AWS too
            if not isinstance(value, str | int | float | bool):
                unresolved.add(name)
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            previous = merged.setdefault(name, (text, function.logical_id))
            if previous[0] != text:
                raise LocalStackError(
                    f"{previous[1]} and {function.logical_id} set {name} to different values "
                    f"({previous[0]!r} and {text!r}); locally every function shares one environment"
                )
    return {name: value for name, (value, _) in merged.items()}, sorted(unresolved - merged.keys())


class _EnvironmentPatch:
    """os.environ changes that ``restore()`` undoes."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def unset(self, name: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ.pop(name, None)

    def set_default(self, name: str, value: str) -> str:
        if not os.environ.get(name):
            self.set(name, value)
        return os.environ[name]

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


class LocalStack:
    """``LocalStack(template_path, port=0).start()`` returns the base URL; ``.stop()`` tears it all down.

    Handlers run in worker processes, one invocation per process at a time as in Lambda
    (``in_process=True``: in this process, serialized, for breakpoints). Mutates this process's
    ``os.environ`` and ``sys.path`` while running (workers and ``ensure_admin`` read them) and restores
    both on ``stop()``; run one at a time.

    ``data_dir`` keeps table items, object versions and the JWT secret across restarts (``fresh=True``
    empties it first); without one, the data lives in a temporary directory removed on ``stop()``.
    """

    def __init__(
        self,
        template_path: str | Path = DEFAULT_TEMPLATE,
        *,
        port: int = 0,
        moto_port: int = 0,
        admin_username: str = "admin",
        admin_password: str | None = None,
        create_admin: bool = True,
        jwt_secret: str | None = None,
        in_process: bool = False,
        max_workers: int = 16,
        warm_workers: int = 0,
        parameter_overrides: dict[str, str] | None = None,
        function_url_port: int = 0,
        data_dir: str | Path | None = None,
        fresh: bool = False,
    ) -> None:
        self.template_path = Path(template_path)
        self.admin_username = admin_username
        self.admin_password = admin_password or secrets.token_urlsafe(12)
        self.admin_created = False
        self.admin_existed = False
        self.restored = (0, 0)  # (items, object versions) loaded from the data directory
        self._port = port
        self._create_admin = create_admin
        self._jwt_secret = jwt_secret
        self._fresh = fresh
        self._temporary_data = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else None  # temporary: made by start()
        self._store: DataStore | None = None
        self._in_process = in_process
        self._max_workers = max_workers
        self._warm_workers = warm_workers
        self._parameter_overrides = parameter_overrides or {}
        self._moto_port = moto_port
        self._moto: MotoServer | None = None
        self._environment = _EnvironmentPatch()
        self._added_paths: list[str] = []
        self._invoker: Invoker | None = None
        self._server: GatewayServer | None = None
        self._thread: threading.Thread | None = None
        self._function_url_port = function_url_port
        self._url_servers: dict[str, GatewayServer] = {}
        self._schedules_stopped = threading.Event()
        self._specs: dict[str, FunctionSpec] = {}
        self._region = "us-east-1"  # set from the environment by start()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("local stack not started")
        return f"http://{HOST}:{self._server.server_port}"

    @property
    def function_urls(self) -> dict[str, str]:
        """Each function URL's base: ``http://127.0.0.1:<port>/`` (``https://<id>.lambda-url...`` on AWS)."""
        return {name: f"http://{HOST}:{server.server_port}/" for name, server in self._url_servers.items()}

    def gateway(self) -> Gateway:
        """The gateway itself, to send requests without HTTP (benchmarks)."""
        if self._server is None:
            raise RuntimeError("local stack not started")
        return self._server.gateway

    @property
    def moto_url(self) -> str:
        if self._moto is None:
            raise RuntimeError("local stack not started")
        return self._moto.url

    def start(self) -> str:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        template = load_template(self.template_path)
        region = self._region = self._environment.set_default("AWS_DEFAULT_REGION", "us-east-1")
        resolver = Resolver(template, region, self._parameter_overrides)
        variables, unresolved = function_environment(template, resolver)
        specs = self._specs = _function_specs(template, resolver)
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="cloudsaves-"))
        elif self._fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self._store = DataStore(self.data_dir, region)
        self._moto = MotoServer(HOST, self._moto_port, self._store)
        moto_url = self._moto.start()
        self._configure_environment(moto_url, variables)
        for name in unresolved:
            self._environment.unset(name)  # not inherited from the shell either
            _note(f"{name} is left unset: its value only exists in AWS")
        self._add_layers(template)
        for spec in specs.values():
            if not spec.file.is_file():
                _note(f"{spec.name}: {spec.file} does not exist; its routes will answer 500")
        create_all(resolver, *_clients(moto_url, region))
        self.restored = self._store.restore()
        self._invoker = (
            InProcessInvoker() if self._in_process else ProcessInvoker(self._max_workers, self._warm_workers)
        )
        gateway = Gateway(template.routes, template.authorizers, specs, self._invoker, region)
        self._server = GatewayServer((HOST, self._port), gateway)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True
        )
        self._thread.start()
        for index, function_url in enumerate(template.function_urls):
            # A function URL is an endpoint of its own: its own port here, its own host on AWS.
            port = self._function_url_port if index == 0 else 0
            url_gateway = FunctionUrlGateway(specs[function_url.function], self._invoker)
            server = GatewayServer((HOST, port), url_gateway)
            self._url_servers[function_url.function] = server
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=function_url.function,
                daemon=True,
            ).start()
        self._schedules_stopped.clear()
        for schedule in template.schedules:
            # As EventBridge does: the first run one period after the stack starts, then every period.
            threading.Thread(
                target=self._run_on_schedule,
                args=(specs[schedule.function], schedule.every_seconds),
                name=f"schedule-{schedule.function}",
                daemon=True,
            ).start()
        if self._create_admin:
            self.admin_created = self._ensure_admin()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, end the Lambda environments, forget moto's data; safe to call twice."""
        self._schedules_stopped.set()
        for server in self._url_servers.values():
            server.shutdown()
            server.server_close()
        self._url_servers.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._invoker is not None:
            self._invoker.close()
            self._invoker = None
        if self._moto is not None and self._moto.running:
            self._moto.stop()  # no request is in flight any more: everything acknowledged is committed
            self._moto.reset()  # moto's backends are process globals; the next stack starts empty
        self._moto = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._temporary_data and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths.clear()
        self._environment.restore()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def invoke_scheduled(self, function: str) -> str | None:
        """Run a scheduled function once now, with EventBridge's event; its JSON result (or raises)."""
        if self._invoker is None:
            raise RuntimeError("local stack not started")
        spec, region = self._specs[function], self._region
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:123456789012:rule/{function}"],
            "detail": {},
        }
        result = self._invoker.invoke(Invocation(spec, json.dumps(event), str(uuid.uuid4())), spec.timeout)
        if result.error or result.timed_out:
            raise RuntimeError(f"{function} failed: {result.error or 'timed out'}")
        return result.payload

    def _run_on_schedule(self, spec: FunctionSpec, every_seconds: int) -> None:
        while not self._schedules_stopped.wait(every_seconds):
            try:
                self.invoke_scheduled(spec.name)
            except Exception as error:  # a failed run is logged; the next one comes anyway
                _note(f"scheduled {spec.name}: {error}")

    def _configure_environment(self, moto_url: str, variables: dict[str, str]) -> None:
        env = self._environment
        env.set("AWS_ENDPOINT_URL", moto_url)
        env.set_default("AWS_ACCESS_KEY_ID", "testing")
        env.set_default("AWS_SECRET_ACCESS_KEY", "testing")
        for name, value in variables.items():
            env.set(name, value)
        env.set("JWT_SECRET", self._jwt_secret or self._kept_jwt_secret())

    def _kept_jwt_secret(self) -> str:
        """A random secret kept in the data directory, so tokens issued before a restart stay valid."""
        assert self.data_dir is not None
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _add_layers(self, template: Template) -> None:
        """The layers' folders go on sys.path (worker processes inherit it), as Lambda mounts /opt/python."""
        for layer_dir in reversed(template.layer_dirs):
            path = str(layer_dir)
            if path not in sys.path:
                sys.path.insert(0, path)
                self._added_paths.append(path)

    def _ensure_admin(self) -> bool:
        try:
            from cloudsaves.services.users import ensure_admin
        except ImportError as error:
            if error.name not in _ADMIN_MODULES:
                raise
            _note(f"no admin created: cloudsaves.services.users.ensure_admin is missing ({error})")
            return False
        from cloudsaves.auth.passwords import verify_password

        admin = ensure_admin(self.admin_username, self.admin_password)
        # Kept from the data directory with another password: printing this start's password would mislead.
        self.admin_existed = not verify_password(self.admin_password, admin.password_hash)
        return True


def _function_specs(template: Template, resolver: Resolver) -> dict[str, FunctionSpec]:
    return {
        name: FunctionSpec(
            name=name,
            code_dir=str(function.code_dir),
            handler=function.handler,
            timeout=function.timeout,
            memory_size=function.memory_size,
            arn=resolver.function_arn(name),
        )
        for name, function in template.functions.items()
    }


def _clients(endpoint_url: str, region: str) -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(region_name=region)
    return session.client("dynamodb", endpoint_url=endpoint_url), session.client(
        "s3", endpoint_url=endpoint_url
    )


def _note(message: str) -> None:
    print(f"local stack: {message}", file=sys.stderr, flush=True)

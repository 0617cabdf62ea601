"""Read the SAM template: functions, HTTP API routes, authorizers, tables, buckets and layers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(ValueError):
    """The template cannot be served locally (and the message says why)."""


# CloudFormation short tags -> the long form key they stand for.
_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
            "FindInMap", "ImportValue", "Base64", "GetAZs", "Cidr",
        )
    },
}  # fmt: skip


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns ``!Ref X`` into ``{"Ref": "X"}``, ``!GetAtt A.B`` into
    ``{"Fn::GetAtt": ["A", "B"]}`` and so on for every CloudFormation short tag."""


def _make_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt":
                value = value.split(".", 1)  # "Table.Arn" is the scalar spelling of ["Table", "Arn"]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag, _key in _SHORT_TAGS.items():
    CloudFormationLoader.add_constructor(f"!{_tag}", _make_constructor(_key))


def load_yaml(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=CloudFormationLoader)
    if not isinstance(document, dict):
        raise TemplateError("template is not a YAML mapping")
    return document


@dataclass(frozen=True)
class Function:
    """An ``AWS::Serverless::Function`` with Globals.Function merged in."""

    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]  # raw values; intrinsic functions resolved later


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    path: str  # "/api/saves/{id}", or "$default"
    function: str  # logical id
    authorizer: str | None  # None when the route is public
    timeout_ms: int = 30_000  # API Gateway's integration timeout

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionUrl:
    """A function's ``FunctionUrlConfig``: its own endpoint, every method and path to the function."""

    function: str  # logical id
    invoke_mode: str = "BUFFERED"


@dataclass(frozen=True)
class Schedule:
    """A function's ``Schedule`` event (EventBridge): invoked every ``every_seconds``."""

    function: str  # logical id
    every_seconds: int


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer of the HTTP API."""

    name: str
    function: str
    identity_headers: tuple[str, ...] = ("Authorization",)
    identity_query_strings: tuple[str, ...] = ()
    reauthorize_every: int = 300
    payload_version: str = "2.0"
    simple_responses: bool = True


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]


@dataclass
class Template:
    path: Path
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    function_urls: list[FunctionUrl] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    layer_dirs: list[Path] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == resource_type]


def load_template(path: str | Path) -> Template:
    path = Path(path).resolve()
    document = load_yaml(path.read_text(encoding="utf-8"))
    resources = {
        logical_id: Resource(logical_id, body.get("Type", ""), body.get("Properties") or {})
        for logical_id, body in (document.get("Resources") or {}).items()
    }
    template = Template(
        path=path,
        parameters=document.get("Parameters") or {},
        conditions=document.get("Conditions") or {},
        mappings=document.get("Mappings") or {},
        resources=resources,
    )
    globals_ = document.get("Globals") or {}
    base_dir = path.parent
    template.functions = {
        r.logical_id: _function(r, globals_.get("Function") or {}, base_dir)
        for r in template.of_type("AWS::Serverless::Function")
    }
    apis = {
        r.logical_id: _merge(globals_.get("HttpApi") or {}, r.properties)
        for r in template.of_type("AWS::Serverless::HttpApi")
    }
    implicit_api = globals_.get("HttpApi") or {}
    for api_id, api in [*apis.items(), (None, implicit_api)]:
        for name, authorizer in _authorizers(api).items():
            template.authorizers[_authorizer_key(api_id, name)] = authorizer
    for function in template.of_type("AWS::Serverless::Function"):
        template.routes.extend(_routes(function, apis, implicit_api))
        template.schedules.extend(_schedules(function))
        if "FunctionUrlConfig" in function.properties:
            template.function_urls.append(_function_url(function))
    template.layer_dirs = [
        (base_dir / str(r.properties["ContentUri"])).resolve()
        for r in template.of_type("AWS::Serverless::LayerVersion")
        if isinstance(r.properties.get("ContentUri"), str)
    ]
    return template


def _merge(defaults: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (recursively), anything else in the resource wins."""
    merged = dict(defaults)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not _is_intrinsic(value):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in {"Ref", "Condition", *_SHORT_TAGS.values()}


def _function(resource: Resource, function_globals: dict[str, Any], base_dir: Path) -> Function:
    props = _merge(function_globals, resource.properties)
    code_uri, handler = props.get("CodeUri"), props.get("Handler")
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise TemplateError(
            f"{resource.logical_id}: the local stack needs a plain CodeUri (a folder) and a "
            f"'module.function' Handler, got CodeUri={code_uri!r} Handler={handler!r}"
        )
    environment = (props.get("Environment") or {}).get("Variables") or {}
    return Function(
        logical_id=resource.logical_id,
        code_dir=(base_dir / code_uri).resolve(),
        handler=handler,
        timeout=_int_or(props.get("Timeout"), 3),
        memory_size=_int_or(props.get("MemorySize"), 128),
        environment=dict(environment),
    )


def _int_or(value: Any, default: int) -> int:
    """SAM's default when the value is absent or an intrinsic function (e.g. ``!Ref Timeout``)."""
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else default


def _authorizer_key(api_id: str | None, name: str) -> str:
    return f"{api_id or 'ServerlessHttpApi'}/{name}"


def _authorizers(api: dict[str, Any]) -> dict[str, Authorizer]:
    found = {}
    for name, config in ((api.get("Auth") or {}).get("Authorizers") or {}).items():
        if "FunctionArn" not in config:
            raise TemplateError(f"authorizer {name}: only Lambda authorizers are supported locally")
        identity = config.get("Identity") or {}
        found[name] = Authorizer(
            name=name,
            function=_function_from_arn(name, config["FunctionArn"]),
            identity_headers=tuple(identity.get("Headers", ["Authorization"] if not identity else [])),
            identity_query_strings=tuple(identity.get("QueryStrings", [])),
            reauthorize_every=_int_or(identity.get("ReauthorizeEvery"), 300),
            payload_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
            simple_responses=bool(config.get("EnableSimpleResponses", False)),
        )
        if found[name].payload_version != "2.0" or not found[name].simple_responses:
            raise TemplateError(
                f"authorizer {name}: the local stack supports AuthorizerPayloadFormatVersion '2.0' "
                "with EnableSimpleResponses: true"
            )
    return found


def _function_from_arn(authorizer: str, arn: Any) -> str:
    """``!GetAtt Fn.Arn`` or ``!Sub ${Fn.Arn}`` -> "Fn"."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    if isinstance(arn, dict) and isinstance(arn.get("Fn::Sub"), str):
        inner = arn["Fn::Sub"].strip()
        if inner.startswith("${") and inner.endswith(".Arn}"):
            return inner[2:-5]
    raise TemplateError(f"authorizer {authorizer}: FunctionArn must be !GetAtt <Function>.Arn, got {arn!r}")


def _routes(resource: Resource, apis: dict[str, dict[str, Any]], implicit_api: dict[str, Any]) -> list[Route]:
    routes = []
    for event_name, event in (resource.properties.get("Events") or {}).items():
        if event.get("Type") != "HttpApi":
            continue
        props = event.get("Properties") or {}
        where = f"{resource.logical_id}.Events.{event_name}"
        if str(props.get("PayloadFormatVersion", "2.0")) != "2.0":
            raise TemplateError(f"{where}: the local stack only speaks payload format 2.0")
        api_id = _api_id(props.get("ApiId"), apis, where)
        api = apis[api_id] if api_id else implicit_api
        routes.append(
            Route(
                method=str(props.get("Method", "ANY")).upper(),
                path=str(props.get("Path", "$default")),
                function=resource.logical_id,
                authorizer=_route_authorizer(api_id, api, props, where),
                timeout_ms=int(props.get("TimeoutInMillis", 30_000)),
            )
        )
    return routes


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _schedules(resource: Resource) -> list[Schedule]:
    """``Schedule`` events with a ``rate(N unit)`` expression; any other (cron) is refused, since the
    local stack could not run it as EventBridge would."""
    schedules = []
    for event_name, event in (resource.properties.get("Events") or {}).items():
        if event.get("Type") != "Schedule":
            continue
        expression = str((event.get("Properties") or {}).get("Schedule", ""))
        match = re.fullmatch(r"rate\(([1-9]\d*) (\w+)\)", expression.strip())  # EventBridge: N >= 1
        if match is None or match.group(2) not in _RATE_UNITS:
            raise TemplateError(f"{resource.logical_id}.Events.{event_name}: only rate(N unit) runs locally")
        every = int(match.group(1)) * _RATE_UNITS[match.group(2)]
        schedules.append(Schedule(function=resource.logical_id, every_seconds=every))
    return schedules


def _function_url(resource: Resource) -> FunctionUrl:
    config = resource.properties["FunctionUrlConfig"] or {}
    where = f"{resource.logical_id}.FunctionUrlConfig"
    if config.get("AuthType") != "NONE":
        raise TemplateError(f"{where}: the local stack serves AuthType NONE only (no SigV4 locally)")
    if config.get("Cors"):
        raise TemplateError(f"{where}: Cors is not emulated locally")
    mode = str(config.get("InvokeMode", "BUFFERED"))
    if mode != "BUFFERED":
        raise TemplateError(f"{where}: the local stack serves InvokeMode BUFFERED only")
    return FunctionUrl(resource.logical_id, mode)


def _api_id(api_ref: Any, apis: dict[str, dict[str, Any]], where: str) -> str | None:
    if api_ref is None:
        return None
    if isinstance(api_ref, dict) and api_ref.get("Ref") in apis:
        return str(api_ref["Ref"])
    raise TemplateError(f"{where}: ApiId must be !Ref to an AWS::Serverless::HttpApi, got {api_ref!r}")


def _route_authorizer(
    api_id: str | None, api: dict[str, Any], props: dict[str, Any], where: str
) -> str | None:
    auth = api.get("Auth") or {}
    name = (props.get("Auth") or {}).get("Authorizer", auth.get("DefaultAuthorizer"))
    if name is None or name == "NONE":
        return None
    if name not in (auth.get("Authorizers") or {}):
        raise TemplateError(f"{where}: authorizer {name!r} is not declared in the API's Auth.Authorizers")
    return _authorizer_key(api_id, name)

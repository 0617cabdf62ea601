"""Evaluate CloudFormation intrinsic functions against the local stack's names."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from local_stack.template import Resource, Template

ACCOUNT_ID = "123456789012"


class Unresolvable(Exception):
    """The value depends on something that only exists in AWS (an import, a secret, an AZ...)."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()  # `!Ref AWS::NoValue`: the property is dropped

# How each resource type is named locally: (name property, default from the logical id).
_NAMING: dict[str, tuple[str, Callable[[str], str]]] = {
    "AWS::DynamoDB::Table": ("TableName", lambda logical_id: logical_id),
    "AWS::S3::Bucket": ("BucketName", lambda logical_id: f"{logical_id.lower()}-local"),
    "AWS::Serverless::Function": ("FunctionName", lambda logical_id: logical_id),
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Resolves intrinsic functions: parameters (defaults or overrides), pseudo parameters,
    conditions, and Ref/GetAtt of the tables, buckets and functions the local stack creates."""

    def __init__(
        self,
        template: Template,
        region: str,
        parameter_overrides: dict[str, str] | None = None,
        names: dict[str, str] | None = None,
        stack_name: str = "cloud-saves-local",
    ) -> None:
        self.template = template
        self.region = region
        self._overrides = parameter_overrides or {}
        self._names = names or {}  # logical id -> physical name chosen by the caller
        self._pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Join": lambda args: self.resolve(args[0]).join(str(v) for v in self.resolve(args[1])),
            "Fn::Select": lambda args: self.resolve(args[1])[int(self.resolve(args[0]))],
            "Fn::Split": lambda args: self.resolve(args[1]).split(self.resolve(args[0])),
            "Fn::FindInMap": lambda args: self._find_in_map(*[self.resolve(a) for a in args]),
            "Fn::Base64": lambda arg: base64.b64encode(str(self.resolve(arg)).encode()).decode(),
            "Fn::Equals": lambda args: str(self.resolve(args[0])) == str(self.resolve(args[1])),
            "Fn::Not": lambda args: not self.resolve(args[0]),
            "Fn::And": lambda args: all(self.resolve(a) for a in args),
            "Fn::Or": lambda args: any(self.resolve(a) for a in args),
            "Condition": self.condition,
        }

    def resolve(self, value: Any) -> Any:
        """The plain value, ``NO_VALUE``, or raises ``Unresolvable``."""
        if isinstance(value, dict):
            if len(value) == 1:
                key, args = next(iter(value.items()))
                if key in self._functions:
                    return self._functions[key](args)
                if key in {"Fn::ImportValue", "Fn::GetAZs", "Fn::Cidr"}:
                    raise Unresolvable(key)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value

    def resolve_or(self, value: Any, default: Any = None) -> Any:
        try:
            return self.resolve(value)
        except (Unresolvable, KeyError, IndexError, TypeError, ValueError, AttributeError):
            return default

    def condition(self, name: str) -> bool:
        if name not in self.template.conditions:
            raise Unresolvable(f"condition {name}")
        return bool(self.resolve(self.template.conditions[name]))

    def physical_name(self, resource: Resource) -> str:
        """Local name: the caller's choice, a plain-string name property, else derived from the logical id."""
        if resource.logical_id in self._names:
            return self._names[resource.logical_id]
        if resource.type not in _NAMING:
            raise Unresolvable(f"no local name for {resource.type}")
        name_property, default = _NAMING[resource.type]
        declared = resource.properties.get(name_property)
        return declared if isinstance(declared, str) else default(resource.logical_id)

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"

    def _ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self.template.parameters:
            return self._parameter(name)
        if name in self.template.resources:
            return self.physical_name(self.template.resources[name])
        raise Unresolvable(f"Ref {name}")

    def _parameter(self, name: str) -> Any:
        declaration = self.template.parameters[name]
        value = self._overrides.get(name, declaration.get("Default"))
        if value is None:
            raise Unresolvable(f"parameter {name} has no Default")
        kind = str(declaration.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        return str(value)

    def _get_att(self, args: list[str]) -> str:
        logical_id, attribute = self.resolve(args)
        resource = self.template.resources.get(logical_id)
        if resource is None or (resource.type, attribute) not in _ATTRIBUTES:
            raise Unresolvable(f"GetAtt {logical_id}.{attribute}")
        return _ATTRIBUTES[(resource.type, attribute)](self, self.physical_name(resource))

    def _sub(self, args: str | list[Any]) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is an escaped, literal ${Literal}
            if name in variables:
                return str(variables[name])
            if "." in name and name not in self._pseudo:
                return str(self._get_att(name.split(".", 1)))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _if(self, args: list[Any]) -> Any:
        condition, when_true, when_false = args
        return self.resolve(when_true if self.condition(condition) else when_false)

    def _find_in_map(self, mapping: str, top: str, second: str) -> Any:
        try:
            return self.template.mappings[mapping][top][second]
        except KeyError as missing:
            raise Unresolvable(f"FindInMap {mapping}.{top}.{second}") from missing


# `!GetAtt Resource.Attribute` for the attributes that mean something locally.
_ATTRIBUTES: dict[tuple[str, str], Callable[[Resolver, str], str]] = {
    ("AWS::DynamoDB::Table", "Arn"): lambda r, name: f"arn:aws:dynamodb:{r.region}:{ACCOUNT_ID}:table/{name}",
    ("AWS::S3::Bucket", "Arn"): lambda r, name: f"arn:aws:s3:::{name}",
    ("AWS::S3::Bucket", "DomainName"): lambda r, name: f"{name}.s3.amazonaws.com",
    ("AWS::S3::Bucket", "RegionalDomainName"): lambda r, name: f"{name}.s3.{r.region}.amazonaws.com",
    ("AWS::Serverless::Function", "Arn"): lambda r, name: r.function_arn(name),
}

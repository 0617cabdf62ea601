"""Pairing flows in DynamoDB: the flow (keyed by its device code's hash), its user code, paired devices.

A flow moves pending -> approved | denied by conditional writes, and its token is handed out by a
conditional delete, so two racing polls cannot both get it. Flows and user codes expire through
`expires_at_epoch` (TTL); DynamoDB deletes late, so readers also check `expires_at`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from cloudsaves.clock import iso
from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.device_auth import FlowStatus, PairingFlow
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write, plain

_NAMES = {"#status": "status"}  # a DynamoDB reserved word


class DeviceAuthRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, flow: PairingFlow, now: datetime) -> None:
        """Store a new flow and claim its user code; ConcurrentUpdate while a live flow holds that code."""
        expires = {"expires_at_epoch": _epoch(flow.expires_at)}
        flow_item = {**self._flow_key(flow.device_code_hash), **expires, **_fields(flow)}
        code_item = {
            **self._code_key(flow.user_code),
            **expires,
            "device_code_hash": flow.device_code_hash,
            "expires_at": iso(flow.expires_at),
        }
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": flow_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": code_item,
                            # an expired code not yet removed by TTL is free again
                            "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                            "ExpressionAttributeValues": {":now": iso(now)},
                        }
                    },
                ]
            )

    def flow_for_user_code(self, user_code: str) -> PairingFlow | None:
        """The flow a user code points at, or None (unknown code, or a flow already decided)."""
        code = self._table.get_item(Key=self._code_key(user_code), ConsistentRead=True).get("Item")
        if code is None:
            return None
        item = self._table.get_item(Key=self._flow_key(code["device_code_hash"]), ConsistentRead=True).get(
            "Item"
        )
        flow = _flow(item) if item else None
        return flow if flow is not None and flow.user_code == user_code else None

    def record_poll(self, device_code_hash: str, now: datetime) -> PairingFlow | None:
        """Stamp this poll on the flow and return the flow as it was before (None when there is none)."""
        try:
            with conditional_write():
                item = self._table.update_item(
                    Key=self._flow_key(device_code_hash),
                    UpdateExpression="SET last_poll_at = :now",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":now": iso(now)},
                    ReturnValues="ALL_OLD",
                )["Attributes"]
        except ConcurrentUpdate:
            return None
        return _flow(item)

    def take_approved(self, device_code_hash: str, now: datetime) -> PairingFlow | None:
        """Delete the approved flow and return it: exactly one caller gets it, the others None."""
        try:
            with conditional_write():
                item = self._table.delete_item(
                    Key=self._flow_key(device_code_hash),
                    ConditionExpression="#status = :approved AND expires_at > :now",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={":approved": FlowStatus.APPROVED.value, ":now": iso(now)},
                    ReturnValues="ALL_OLD",
                )["Attributes"]
        except ConcurrentUpdate:
            return None
        return _flow(item)

    def deny(self, flow: PairingFlow, now: datetime, until: datetime) -> None:
        """pending -> denied, alive until `until`; the user code goes. ConcurrentUpdate if not pending."""
        update = self._decide(
            flow, now, "SET #status = :denied, expires_at = :until, expires_at_epoch = :epoch"
        )
        update["ExpressionAttributeValues"].update(
            {":denied": FlowStatus.DENIED.value, ":until": iso(until), ":epoch": _epoch(until)}
        )
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[{"Update": update}, {"Delete": self._code_delete(flow)}]
            )

    def approve(
        self, flow: PairingFlow, approved: PairingFlow, writes: list[dict[str, Any]], now: datetime
    ) -> None:
        """pending -> `approved` (its device, scopes and token expiry), committed with `writes` (the
        device and its token) in one transaction; the user code goes. ConcurrentUpdate if any fails."""
        update = self._decide(
            flow,
            now,
            "SET #status = :approved, device_id = :device, scopes = :scopes, token_expires_at = :expires",
        )
        update["ExpressionAttributeValues"].update(
            {
                ":approved": FlowStatus.APPROVED.value,
                ":device": approved.device_id,
                ":scopes": approved.scopes,
                ":expires": iso(approved.token_expires_at) if approved.token_expires_at else None,
            }
        )
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[{"Update": update}, {"Delete": self._code_delete(flow)}, *writes]
            )

    def paired_device_id(self, user_id: int, client_device_identifier: str) -> str | None:
        key = {"pk": keys.owner_pk(user_id), "sk": keys.client_device_sk(client_device_identifier)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return str(item["device_id"]) if item else None

    def paired_device_write(
        self, user_id: int, client_device_identifier: str, device_id: str, replaces: str | None
    ) -> dict[str, Any]:
        """The TransactWriteItems entry pointing the identifier at `device_id`, on condition that it still
        points at `replaces` (None: at nothing), so two approvals cannot pair one identifier twice."""
        condition, values = "attribute_not_exists(pk)", {}
        if replaces is not None:
            condition, values = "device_id = :replaces", {":replaces": replaces}
        put: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": {
                "pk": keys.owner_pk(user_id),
                "sk": keys.client_device_sk(client_device_identifier),
                "device_id": device_id,
            },
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _decide(self, flow: PairingFlow, now: datetime, update_expression: str) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Key": self._flow_key(flow.device_code_hash),
            "UpdateExpression": update_expression,
            "ConditionExpression": "#status = :pending AND expires_at > :now",
            "ExpressionAttributeNames": dict(_NAMES),
            "ExpressionAttributeValues": {":pending": FlowStatus.PENDING.value, ":now": iso(now)},
        }

    def _code_delete(self, flow: PairingFlow) -> dict[str, Any]:
        return {"TableName": self._table.name, "Key": self._code_key(flow.user_code)}

    @staticmethod
    def _flow_key(device_code_hash: str) -> dict[str, str]:
        return {"pk": keys.device_auth_pk(device_code_hash), "sk": keys.PROFILE}

    @staticmethod
    def _code_key(user_code: str) -> dict[str, str]:
        return {"pk": keys.device_auth_user_code_pk(user_code), "sk": keys.PROFILE}


def _fields(flow: PairingFlow) -> dict[str, Any]:
    data = flow.model_dump(mode="json", exclude_none=True)
    # One timestamp format in the table, so conditions compare ISO strings exactly.
    data["expires_at"] = iso(flow.expires_at)
    return data


def _flow(item: dict[str, Any]) -> PairingFlow:
    return PairingFlow.model_validate(plain(item))


def _epoch(moment: datetime) -> int:
    return math.ceil(moment.timestamp())

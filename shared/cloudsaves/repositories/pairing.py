"""Client-token pairing codes in DynamoDB (they expire by TTL; readers check the expiry too)."""

from __future__ import annotations

from typing import Any

from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.users import PairCodeRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write, plain


class PairingRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, pair: PairCodeRecord, now_epoch: int) -> None:
        """Store a new code; ConcurrentUpdate if a live code has it already (the caller draws again)."""
        with conditional_write():
            self._table.put_item(
                Item={"pk": keys.pair_code_pk(pair.code), "sk": keys.PROFILE, **pair.model_dump()},
                ConditionExpression="attribute_not_exists(pk) OR expires_at_epoch <= :now",
                ExpressionAttributeValues={":now": now_epoch},
            )

    def get(self, code: str) -> PairCodeRecord | None:
        key = {"pk": keys.pair_code_pk(code), "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return PairCodeRecord.model_validate(plain(item)) if item else None

    def take(self, code: str) -> PairCodeRecord | None:
        """Delete the code and return what it held: of any number of concurrent takers, one gets it."""
        try:
            with conditional_write():
                old = self._table.delete_item(
                    Key={"pk": keys.pair_code_pk(code), "sk": keys.PROFILE},
                    ConditionExpression="attribute_exists(pk)",
                    ReturnValues="ALL_OLD",
                ).get("Attributes")
        except ConcurrentUpdate:
            return None
        return PairCodeRecord.model_validate(plain(old)) if old else None

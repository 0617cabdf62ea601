"""Direct-upload reservations: one item per upload_id, moved through its states by conditional writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloudsaves.clock import iso
from cloudsaves.errors import ConcurrentUpdate
from cloudsaves.models.uploads import UploadReservation
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import conditional_write, plain

_NAMES = {"#status": "status"}  # a DynamoDB reserved word


class UploadsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, reservation: UploadReservation) -> None:
        """Store a new reservation; ConcurrentUpdate if the upload_id is taken."""
        item = {
            "pk": keys.upload_pk(reservation.upload_id),
            "sk": keys.PROFILE,
            "expires_at_epoch": int(reservation.expires_at.timestamp()),
            **reservation.model_dump(mode="json", exclude_none=True),
        }
        with conditional_write():
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, upload_id: str) -> UploadReservation | None:
        item = self._table.get_item(Key=self._key(upload_id), ConsistentRead=True).get("Item")
        return UploadReservation.model_validate(plain(item)) if item else None

    def claim(self, upload_id: str, user_id: int, token: str, now: datetime, stale_before: datetime) -> bool:
        """pending -> committing under `token`, or take over a claim made before `stale_before`.

        True when this caller won; false when the item is not the user's, is expired, or is taken.
        """
        try:
            with conditional_write():
                self._table.update_item(
                    Key=self._key(upload_id),
                    UpdateExpression="SET #status = :committing, claim_token = :token, claimed_at = :now",
                    ConditionExpression="user_id = :user AND expires_at_epoch > :epoch AND "
                    "(#status = :pending OR (#status = :committing AND claimed_at < :stale))",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":committing": "committing",
                        ":pending": "pending",
                        ":token": token,
                        ":now": iso(now),
                        ":stale": iso(stale_before),
                        ":user": user_id,
                        ":epoch": int(now.timestamp()),
                    },
                )
        except ConcurrentUpdate:
            return False
        return True

    def finish(self, upload_id: str, token: str, result_id: int, keep_until: datetime) -> None:
        """committing -> done with the record's id, kept until `keep_until` so retries find it."""
        self._update_claimed(
            upload_id,
            token,
            "SET #status = :done, result_id = :result, expires_at_epoch = :until REMOVE claim_token",
            {":done": "done", ":result": result_id, ":until": int(keep_until.timestamp())},
        )

    def fail(self, upload_id: str, token: str, status_code: int, detail: str) -> None:
        """committing -> failed: every later complete answers the same error."""
        self._update_claimed(
            upload_id,
            token,
            "SET #status = :failed, error_status = :code, error_detail = :detail REMOVE claim_token",
            {":failed": "failed", ":code": status_code, ":detail": detail},
        )

    def release(self, upload_id: str, token: str) -> None:
        """committing -> pending: the bytes were not right (or the commit broke); the client may try again."""
        self._update_claimed(
            upload_id,
            token,
            "SET #status = :pending REMOVE claim_token, claimed_at",
            {":pending": "pending"},
        )

    def _update_claimed(self, upload_id: str, token: str, expression: str, values: dict[str, Any]) -> None:
        # Only the claim holder moves the item on; a taken-over claim raises ConcurrentUpdate.
        with conditional_write():
            self._table.update_item(
                Key=self._key(upload_id),
                UpdateExpression=expression,
                ConditionExpression="claim_token = :token",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={":token": token, **values},
            )

    @staticmethod
    def _key(upload_id: str) -> dict[str, str]:
        return {"pk": keys.upload_pk(upload_id), "sk": keys.PROFILE}

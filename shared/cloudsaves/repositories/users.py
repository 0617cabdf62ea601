"""Users, refresh tokens and client tokens in DynamoDB."""

from __future__ import annotations

from typing import Any

from cloudsaves.errors import BadRequest, ConcurrentUpdate, Conflict
from cloudsaves.models.users import ClientTokenRecord, UserRecord
from cloudsaves.repositories import keys
from cloudsaves.repositories.dynamo import batch_get, conditional_write, plain, query_all

MAX_CLIENT_TOKENS = 25
TOO_MANY_CLIENT_TOKENS = f"Maximum of {MAX_CLIENT_TOKENS} tokens per user reached"  # RomM's 400 text


class UsersRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, username: str) -> UserRecord | None:
        # Strongly consistent, as every read that authenticates: API Gateway caches the authorizer's
        # verdict, refusals included, so a refusal must never come from a stale read.
        key = {"pk": keys.user_pk(username), "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return UserRecord.model_validate(plain(item)) if item else None

    def create(self, user: UserRecord) -> None:
        """Insert the profile and reserve its id together; a taken username is a Conflict."""
        profile = {"pk": keys.user_pk(user.username), "sk": keys.PROFILE, **user.model_dump(mode="json")}
        id_claim = {"pk": keys.user_id_pk(user.id), "sk": keys.PROFILE, "username": user.username}
        client = self._table.meta.client
        try:
            with conditional_write():
                client.transact_write_items(
                    TransactItems=[
                        {"Put": self._new_item(profile)},
                        {"Put": self._new_item(id_claim)},
                    ]
                )
        except ConcurrentUpdate as exc:
            if self.get(user.username) is not None:
                raise Conflict("Username already exists") from exc
            raise  # the id collided: the caller retries with a fresh one

    def store_refresh_token(self, jti: str, username: str, expires_at: int) -> None:
        self._table.put_item(
            Item={
                "pk": keys.refresh_token_pk(jti),
                "sk": keys.PROFILE,
                "username": username,
                "expires_at_epoch": expires_at,
            }
        )

    def consume_refresh_token(self, jti: str, username: str) -> bool:
        """Delete the refresh token if it is still live: true once, false for any reuse."""
        try:
            with conditional_write():
                self._table.delete_item(
                    Key={"pk": keys.refresh_token_pk(jti), "sk": keys.PROFILE},
                    ConditionExpression="username = :u",
                    ExpressionAttributeValues={":u": username},
                )
        except ConcurrentUpdate:
            return False
        return True

    def create_client_token(self, token: ClientTokenRecord) -> None:
        """Count, owner item and lookup item move together, so the per-user limit cannot be raced past."""
        try:
            with conditional_write():
                self._table.meta.client.transact_write_items(TransactItems=self.client_token_writes(token))
        except ConcurrentUpdate as exc:
            raise BadRequest(TOO_MANY_CLIENT_TOKENS) from exc

    def client_token_writes(self, token: ClientTokenRecord) -> list[dict[str, Any]]:
        """The TransactWriteItems entries that create `token`, for use cases committing more with it."""
        owner_item = {
            "pk": keys.owner_pk(token.user_id),
            "sk": keys.client_token_sk(token.id),
            "gsi1pk": keys.all_client_tokens_gsi1pk(token.id),  # the admin listing
            "gsi1sk": keys.sortable_int(token.id),
            **token.model_dump(mode="json"),
        }
        lookup_item = {
            "pk": keys.client_token_hash_pk(token.token_hash),
            "sk": keys.PROFILE,
            **token.model_dump(mode="json"),
        }
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": keys.user_pk(token.username), "sk": keys.PROFILE},
                    "UpdateExpression": "ADD client_token_count :one",
                    "ConditionExpression": "attribute_exists(pk) AND "
                    "(attribute_not_exists(client_token_count) OR client_token_count < :max)",
                    "ExpressionAttributeValues": {":one": 1, ":max": MAX_CLIENT_TOKENS},
                }
            },
            {"Put": self._new_item(owner_item)},
            {"Put": self._new_item(lookup_item)},
        ]

    def list_client_tokens(self, user_id: int) -> list[ClientTokenRecord]:
        from boto3.dynamodb.conditions import Key

        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(keys.owner_pk(user_id)) & Key("sk").begins_with("CTOKEN#"),
        )
        return [ClientTokenRecord.model_validate(plain(item)) for item in items]

    def get_client_token(self, user_id: int, token_id: int) -> ClientTokenRecord | None:
        key = {"pk": keys.owner_pk(user_id), "sk": keys.client_token_sk(token_id)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ClientTokenRecord.model_validate(plain(item)) if item else None

    def find_client_token(self, token_hash: str) -> ClientTokenRecord | None:
        key = {"pk": keys.client_token_hash_pk(token_hash), "sk": keys.PROFILE}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")  # a token minted a moment ago
        return ClientTokenRecord.model_validate(plain(item)) if item else None

    def delete_client_token(self, token: ClientTokenRecord) -> None:
        self._table.meta.client.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": {"pk": keys.owner_pk(token.user_id), "sk": keys.client_token_sk(token.id)},
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": {"pk": keys.client_token_hash_pk(token.token_hash), "sk": keys.PROFILE},
                    }
                },
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": {"pk": keys.user_pk(token.username), "sk": keys.PROFILE},
                        "UpdateExpression": "ADD client_token_count :minus_one",
                        "ExpressionAttributeValues": {":minus_one": -1},
                    }
                },
            ]
        )

    def touch_client_token(self, token: ClientTokenRecord, used_at: str) -> None:
        self._table.update_item(
            Key={"pk": keys.owner_pk(token.user_id), "sk": keys.client_token_sk(token.id)},
            UpdateExpression="SET last_used_at = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":t": used_at},
        )

    def replace_client_token_hash(self, token: ClientTokenRecord, new_hash: str) -> ClientTokenRecord:
        """Swap the token's hash: the old raw value stops working in the same transaction.

        ConcurrentUpdate when the token was deleted or regenerated meanwhile (the caller re-reads).
        """
        renewed = token.model_copy(update={"token_hash": new_hash})
        name = self._table.name
        with conditional_write():
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": name,
                            "Key": {"pk": keys.owner_pk(token.user_id), "sk": keys.client_token_sk(token.id)},
                            "UpdateExpression": "SET token_hash = :new",
                            "ConditionExpression": "token_hash = :old",
                            "ExpressionAttributeValues": {":new": new_hash, ":old": token.token_hash},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": name,
                            "Key": {"pk": keys.client_token_hash_pk(token.token_hash), "sk": keys.PROFILE},
                        }
                    },
                    {
                        "Put": self._new_item(
                            {
                                "pk": keys.client_token_hash_pk(new_hash),
                                "sk": keys.PROFILE,
                                **renewed.model_dump(mode="json"),
                            }
                        )
                    },
                ]
            )
        return renewed

    def list_all_client_tokens(self) -> list[ClientTokenRecord]:
        """Every user's client tokens (admins), ordered by id: one Query per gsi1 shard, merged."""
        from boto3.dynamodb.conditions import Key

        tokens: list[ClientTokenRecord] = []
        for shard in range(keys.CLIENT_TOKEN_SHARDS):
            items = query_all(
                self._table,
                IndexName="gsi1",
                KeyConditionExpression=Key("gsi1pk").eq(keys.all_client_tokens_gsi1pk(shard)),
            )
            tokens += [ClientTokenRecord.model_validate(plain(item)) for item in items]
        return sorted(tokens, key=lambda token: token.id)

    def find_client_token_by_id(self, token_id: int) -> ClientTokenRecord | None:
        """Any user's token by id (admins), through its gsi1 shard."""
        from boto3.dynamodb.conditions import Key

        page = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(keys.all_client_tokens_gsi1pk(token_id))
            & Key("gsi1sk").eq(keys.sortable_int(token_id)),
        )
        items = page.get("Items", [])
        if not items:
            return None
        # The index is eventually consistent: confirm against the owner's item.
        found = ClientTokenRecord.model_validate(plain(items[0]))
        return self.get_client_token(found.user_id, found.id)

    def get_many(self, usernames: set[str]) -> dict[str, UserRecord]:
        """Profiles by username, 100 per BatchGetItem (unprocessed keys retried)."""
        items = batch_get(
            self._table, [{"pk": keys.user_pk(n), "sk": keys.PROFILE} for n in sorted(usernames)]
        )
        users = (UserRecord.model_validate(plain(item)) for item in items)
        return {user.username: user for user in users}

    def _new_item(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }

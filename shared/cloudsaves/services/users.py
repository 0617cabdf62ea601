"""Users: creation (API and operator), lookup."""

from __future__ import annotations

from cloudsaves.auth.passwords import hash_password
from cloudsaves.auth.scopes import Role
from cloudsaves.aws import table
from cloudsaves.clock import utcnow
from cloudsaves.errors import ConcurrentUpdate, NotFound
from cloudsaves.ids import new_int_id
from cloudsaves.models.users import UserCreate, UserRecord
from cloudsaves.repositories.users import UsersRepository

_ID_ATTEMPTS = 5


def users_repository() -> UsersRepository:
    return UsersRepository(table())


def create_user(request: UserCreate) -> UserRecord:
    password_hash = hash_password(request.password)
    for _ in range(_ID_ATTEMPTS):
        user = UserRecord(
            id=new_int_id(),
            username=request.username,
            email=request.email,
            role=request.role,
            enabled=True,
            password_hash=password_hash,
            created_at=utcnow(),
        )
        try:
            users_repository().create(user)
            return user
        except ConcurrentUpdate:
            continue  # id collision: draw again
    raise RuntimeError("Could not allocate a user id")


def ensure_admin(username: str, password: str) -> UserRecord:
    """The operator's first admin: created if missing, left alone if it exists."""
    existing = users_repository().get(username)
    if existing is not None:
        return existing
    return create_user(UserCreate(username=username, password=password, role=Role.ADMIN))


def get_user(username: str) -> UserRecord:
    user = users_repository().get(username)
    if user is None:
        raise NotFound("User not found")
    return user

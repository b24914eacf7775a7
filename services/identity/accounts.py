"""Identity domain: accounts, memberships and token issuance. No transport code here."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.kit import auth
from services.kit.context import ROLE_ORDER, Principal
from services.kit.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Validator,
)
from services.kit.naming import IDENTITY_SCHEMA
from services.kit.pagination import decode_page_token, encode_page_token, page_size
from services.kit.settings import get_settings

ROLES = ("member", "moderator", "admin", "owner")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_hasher = PasswordHasher()
S = IDENTITY_SCHEMA
FAMILY_PREFIX = "platform:revoked-family:"


@dataclass(frozen=True)
class Account:
    """A platform user."""

    id: str
    email: str
    display_name: str
    is_active: bool
    created_at: datetime


@dataclass(frozen=True)
class MembershipRow:
    """A user's role in a tenant."""

    tenant: str
    user_id: str
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class Tokens:
    """An issued access/refresh pair."""

    access_token: str
    refresh_token: str
    expires_in: int
    tenant: str | None
    role: str | None


def _account(row: Any) -> Account:
    return Account(str(row.id), row.email, row.display_name, row.is_active, row.created_at)


class Identity:
    """Identity operations on the identity schema, with Redis for revocations."""

    def __init__(self, engine: AsyncEngine, redis: Redis) -> None:
        self.engine = engine
        self.redis = redis

    # -- accounts --------------------------------------------------------------------------
    async def register(self, email: str, password: str, display_name: str) -> Account:
        """Create an account; ALREADY_EXISTS if the e-mail is taken."""
        v = Validator()
        email = (email or "").strip().lower()
        v.require(bool(_EMAIL.match(email)) and len(email) <= 320, "email",
                  "must be a valid e-mail address")
        v.require(10 <= len(password or "") <= 200, "password", "must be 10 to 200 characters")
        v.require(1 <= len((display_name or "").strip()) <= 100, "display_name",
                  "must be 1 to 100 characters")
        v.raise_if_any()
        hashed = _hasher.hash(password)
        try:
            async with self.engine.begin() as conn:
                row = (await conn.execute(text(
                    f'INSERT INTO "{S}".users (id, email, display_name, password_hash) '
                    "VALUES (:id, :e, :d, :h) RETURNING id, email, display_name, is_active, created_at"
                ), {"id": uuid.uuid4(), "e": email, "d": display_name.strip(), "h": hashed})).one()
        except IntegrityError:
            raise AlreadyExists("an account with this e-mail exists", code="email_taken") from None
        return _account(row)

    async def get(self, user_id: str) -> Account:
        """An account by id; NOT_FOUND if absent."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(
                f'SELECT id, email, display_name, is_active, created_at FROM "{S}".users WHERE id = :i'
            ), {"i": _uuid(user_id)})).first()
        if row is None:
            raise NotFound("user not found")
        return _account(row)

    async def update_profile(self, user_id: str, *, display_name: str = "", new_password: str = "",
                             current_password: str = "") -> Account:
        """Change display name and/or password (the latter needs the current one)."""
        v = Validator()
        if display_name:
            v.require(len(display_name.strip()) <= 100, "display_name", "must be at most 100 characters")
        if new_password:
            v.require(10 <= len(new_password) <= 200, "new_password", "must be 10 to 200 characters")
            v.require(bool(current_password), "current_password", "is required to change the password")
        v.require(bool(display_name or new_password), "display_name", "nothing to update")
        v.raise_if_any()
        async with self.engine.begin() as conn:
            row = (await conn.execute(text(
                f'SELECT password_hash FROM "{S}".users WHERE id = :i AND is_active FOR UPDATE'
            ), {"i": _uuid(user_id)})).first()
            if row is None:
                raise NotFound("user not found")
            params: dict[str, Any] = {"i": _uuid(user_id), "d": display_name.strip() or None, "h": None}
            if new_password:
                if not _verify(row.password_hash, current_password):
                    raise PermissionDenied("current password is wrong", code="wrong_password")
                params["h"] = _hasher.hash(new_password)
            out = (await conn.execute(text(
                f'UPDATE "{S}".users SET display_name = COALESCE(:d, display_name), '
                "password_hash = COALESCE(:h, password_hash), updated_at = now() WHERE id = :i "
                "RETURNING id, email, display_name, is_active, created_at"), params)).one()
        return _account(out)

    async def deactivate(self, user_id: str) -> Account:
        """Deactivate an account; every token it holds stops working at once."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(text(
                f'UPDATE "{S}".users SET is_active = false, updated_at = now() WHERE id = :i '
                "RETURNING id, email, display_name, is_active, created_at"), {"i": _uuid(user_id)})).first()
        if row is None:
            raise NotFound("user not found")
        await auth.disable_subject(self.redis, str(row.id),
                                   get_settings().jwt_refresh_ttl_seconds)
        return _account(row)

    # -- tokens ----------------------------------------------------------------------------
    async def login(self, email: str, password: str, tenant: str = "") -> Tokens:
        """Check credentials; issue tokens scoped to ``tenant`` (or the only membership)."""
        v = Validator()
        v.require(bool(email), "email", "is required")
        v.require(bool(password), "password", "is required")
        v.raise_if_any()
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(
                f'SELECT id, password_hash, is_active FROM "{S}".users WHERE lower(email) = :e'
            ), {"e": email.strip().lower()})).first()
        # One message for every failure, so login does not reveal which accounts exist.
        if row is None or not row.is_active or not _verify(row.password_hash, password):
            raise Unauthenticated("wrong e-mail or password", code="bad_credentials")
        tenant, role = await self._scope(str(row.id), tenant)
        return self._issue(str(row.id), tenant, role, family=uuid.uuid4().hex)

    async def _scope(self, user_id: str, tenant: str) -> tuple[str | None, str | None]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(
                f'SELECT tenant, role FROM "{S}".memberships WHERE user_id = :u ORDER BY tenant'
            ), {"u": _uuid(user_id)})).all()
        if tenant:
            for r in rows:
                if r.tenant == tenant:
                    return r.tenant, r.role
            raise PermissionDenied(f"you are not a member of tenant {tenant!r}", code="not_a_member")
        if len(rows) == 1:
            return rows[0].tenant, rows[0].role
        return None, None

    def _issue(self, user_id: str, tenant: str | None, role: str | None, *, family: str) -> Tokens:
        settings = get_settings()
        access, _ = auth.issue_token(user_id, typ="access", tenant=tenant, role=role)
        refresh, _ = auth.issue_token(user_id, typ="refresh", tenant=tenant, role=role,
                                      extra={"fam": family})
        return Tokens(access, refresh, settings.jwt_access_ttl_seconds, tenant, role)

    async def refresh(self, refresh_token: str) -> Tokens:
        """Rotate a refresh token. Presenting a used one revokes its whole family (theft)."""
        if not refresh_token:
            raise InvalidArgument.field("refresh_token", "is required")
        claims = auth.decode_token(refresh_token, expected_typ="refresh")
        family = str(claims.get("fam", ""))
        if await self.redis.exists(FAMILY_PREFIX + family):
            raise Unauthenticated("token revoked", code="token_revoked")
        # SET NX makes the rotation atomic: of two concurrent refreshes, one wins.
        first_use = await self.redis.set(auth.REVOKED_PREFIX + str(claims["jti"]), "1",
                                         ex=max(1, int(claims["exp"])), nx=True)
        if not first_use:
            await self.redis.set(FAMILY_PREFIX + family, "1",
                                 ex=get_settings().jwt_refresh_ttl_seconds)
            raise Unauthenticated("refresh token reused; session revoked", code="token_reused")
        user = await self.get(str(claims["sub"]))
        if not user.is_active:
            raise Unauthenticated("account deactivated", code="account_inactive")
        tenant, role = await self._scope(user.id, str(claims.get("tenant") or ""))
        return self._issue(user.id, tenant, role, family=family)

    async def logout(self, refresh_token: str, caller: Principal | None) -> None:
        """Revoke a refresh token's family and, if given, the calling access token."""
        if refresh_token:
            claims = auth.decode_token(refresh_token, expected_typ="refresh")
            await self.redis.set(FAMILY_PREFIX + str(claims.get("fam", "")), "1",
                                 ex=get_settings().jwt_refresh_ttl_seconds)
            await auth.revoke(self.redis, claims)
        if caller is not None and caller.claims:
            await auth.revoke(self.redis, dict(caller.claims))

    # -- memberships -----------------------------------------------------------------------
    async def memberships_of(self, user_id: str) -> list[MembershipRow]:
        """Every tenant the user belongs to."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(
                f'SELECT m.tenant, m.user_id, u.email, m.role, m.created_at FROM "{S}".memberships m '
                f'JOIN "{S}".users u ON u.id = m.user_id WHERE m.user_id = :u ORDER BY m.tenant'
            ), {"u": _uuid(user_id)})).all()
        return [MembershipRow(r.tenant, str(r.user_id), r.email, r.role, r.created_at) for r in rows]

    async def tenant(self, name: str) -> Any:
        """The registered tenant row; NOT_FOUND when unknown."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(
                f'SELECT name, display_name, apps FROM "{S}".tenants WHERE name = :n'), {"n": name})).first()
        if row is None:
            raise NotFound(f"tenant {name!r} not found")
        return row

    async def add_member(self, caller: Principal, tenant: str, email: str, role: str) -> MembershipRow:
        """Grant ``role`` in ``tenant`` to the user with ``email`` (admin or owner only)."""
        _check_tenant(caller, tenant)
        caller.require_role("admin")
        v = Validator()
        v.require(role in ROLES, "role", "must be one of owner, admin, moderator, member")
        v.require(bool(email), "email", "is required")
        v.raise_if_any()
        _no_escalation(caller, role)
        await self.tenant(tenant)
        async with self.engine.begin() as conn:
            user = (await conn.execute(text(
                f'SELECT id, email FROM "{S}".users WHERE lower(email) = :e AND is_active'
            ), {"e": email.strip().lower()})).first()
            if user is None:
                raise NotFound("no active account with this e-mail", code="user_not_found")
            row = (await conn.execute(text(
                f'INSERT INTO "{S}".memberships (tenant, user_id, role) VALUES (:t, :u, :r) '
                "ON CONFLICT DO NOTHING RETURNING created_at"), {"t": tenant, "u": user.id, "r": role})).first()
            if row is None:
                raise AlreadyExists("the user is already a member", code="already_member")
        return MembershipRow(tenant, str(user.id), user.email, role, row.created_at)

    async def list_members(self, caller: Principal, tenant: str, size: int,
                           token: str) -> tuple[list[MembershipRow], str]:
        """One page of the tenant's members, ordered by user id (keyset)."""
        _check_tenant(caller, tenant)
        caller.require_role("member")
        limit = page_size(size)
        after = decode_page_token(token).get("after", "00000000-0000-0000-0000-000000000000")
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(
                f'SELECT m.tenant, m.user_id, u.email, m.role, m.created_at FROM "{S}".memberships m '
                f'JOIN "{S}".users u ON u.id = m.user_id WHERE m.tenant = :t AND m.user_id > :a '
                "ORDER BY m.user_id LIMIT :n"), {"t": tenant, "a": _uuid(after, "page_token"),
                                                  "n": limit + 1})).all()
        items = [MembershipRow(r.tenant, str(r.user_id), r.email, r.role, r.created_at)
                 for r in rows[:limit]]
        next_token = encode_page_token({"after": items[-1].user_id}) if len(rows) > limit else ""
        return items, next_token

    async def update_member(self, caller: Principal, tenant: str, user_id: str,
                            role: str) -> MembershipRow:
        """Change a member's role (admin or owner; never above the caller's own)."""
        _check_tenant(caller, tenant)
        caller.require_role("admin")
        if role not in ROLES:
            raise InvalidArgument.field("role", "must be one of owner, admin, moderator, member")
        _no_escalation(caller, role)
        async with self.engine.begin() as conn:
            await _lock_membership_below(conn, caller, tenant, user_id)
            row = (await conn.execute(text(
                f'UPDATE "{S}".memberships m SET role = :r FROM "{S}".users u '
                "WHERE m.tenant = :t AND m.user_id = :u AND u.id = m.user_id "
                "RETURNING m.tenant, m.user_id, u.email, m.role, m.created_at"),
                {"t": tenant, "u": _uuid(user_id, "user_id"), "r": role})).one()
        return MembershipRow(row.tenant, str(row.user_id), row.email, row.role, row.created_at)

    async def remove_member(self, caller: Principal, tenant: str, user_id: str) -> None:
        """Remove a member (admin or owner; not someone above the caller)."""
        _check_tenant(caller, tenant)
        caller.require_role("admin")
        async with self.engine.begin() as conn:
            await _lock_membership_below(conn, caller, tenant, user_id)
            await conn.execute(text(
                f'DELETE FROM "{S}".memberships WHERE tenant = :t AND user_id = :u'),
                {"t": tenant, "u": _uuid(user_id, "user_id")})

    async def bootstrap_member(self, tenant: str, email: str, password: str, role: str,
                               display_name: str = "") -> str:
        """Create (or reuse) an account and make it a member: the CLI's first-owner path.

        An operator with database access runs this (``tenantry member add``, the dev
        runner), so an existing account gets the given password and is reactivated.
        """
        try:
            account = await self.register(email, password, display_name or email.split("@")[0])
            user_id = account.id
        except AlreadyExists:
            async with self.engine.begin() as conn:
                user_id = str((await conn.execute(text(
                    f'UPDATE "{S}".users SET password_hash = :h, is_active = true, updated_at = now() '
                    "WHERE lower(email) = :e RETURNING id"),
                    {"e": email.strip().lower(), "h": _hasher.hash(password)})).scalar_one())
        async with self.engine.begin() as conn:
            await conn.execute(text(
                f'INSERT INTO "{S}".memberships (tenant, user_id, role) VALUES (:t, :u, :r) '
                "ON CONFLICT (tenant, user_id) DO UPDATE SET role = EXCLUDED.role"),
                {"t": tenant, "u": _uuid(user_id), "r": role})
        return user_id


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def _uuid(value: str, field: str = "user_id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidArgument.field(field, "must be a UUID") from None


async def _lock_membership_below(conn: AsyncConnection, caller: Principal, tenant: str, user_id: str) -> None:
    """Lock a membership row for change; NOT_FOUND if absent, PERMISSION_DENIED if the
    member's role is above the caller's."""
    current = (await conn.execute(text(
        f'SELECT role FROM "{S}".memberships WHERE tenant = :t AND user_id = :u FOR UPDATE'
    ), {"t": tenant, "u": _uuid(user_id, "user_id")})).first()
    if current is None:
        raise NotFound("membership not found")
    _no_escalation(caller, current.role)


def _check_tenant(caller: Principal, tenant: str) -> None:
    if not caller.is_service and caller.tenant != tenant:
        # Another tenant's data is indistinguishable from a missing tenant.
        raise NotFound(f"tenant {tenant!r} not found")


def _no_escalation(caller: Principal, role: str) -> None:
    if caller.is_service:
        return
    if ROLE_ORDER.get(role, 0) > ROLE_ORDER.get(caller.role or "", 0):
        raise PermissionDenied("you cannot grant or change a role above your own",
                               code="role_escalation")

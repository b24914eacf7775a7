"""SQL for users, user settings and the username history (the session's tenant schema)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import DEFAULT_LANGUAGE_CODE, User, UserProfile, UserSettings

_USER_COLUMNS = ("user_id, username, first_name, last_name, language_code, is_bot, is_active, "
                 "created_at, updated_at, last_seen")


def _user(row: Any) -> User:
    return User(**dict(row._mapping))


async def insert_user(session: AsyncSession, profile: UserProfile) -> User | None:
    """Insert a new user; None when the id is already taken."""
    row = (await session.execute(text(
        "INSERT INTO users (user_id, username, first_name, last_name, language_code, is_bot) "
        "VALUES (:user_id, :username, :first_name, :last_name, :language_code, :is_bot) "
        f"ON CONFLICT (user_id) DO NOTHING RETURNING {_USER_COLUMNS}"
    ), {**_profile_params(profile)})).first()
    return _user(row) if row else None


def _profile_params(profile: UserProfile) -> dict[str, Any]:
    return {"user_id": profile.user_id, "username": profile.username or None,
            "first_name": profile.first_name or None, "last_name": profile.last_name or None,
            "language_code": profile.language_code or DEFAULT_LANGUAGE_CODE,
            "is_bot": profile.is_bot}


async def get_user(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User | None:
    """The user, or None."""
    lock = " FOR UPDATE" if for_update else ""
    row = (await session.execute(
        text(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = :id{lock}"), {"id": user_id}
    )).first()
    return _user(row) if row else None


async def record_username_change(session: AsyncSession, user_id: int, old: str | None,
                                 new: str | None) -> None:
    """Append to the username history (callers only call it when the name changed)."""
    await session.execute(text(
        "INSERT INTO user_username_history (user_id, old_username, new_username) "
        "VALUES (:u, :old, :new)"), {"u": user_id, "old": old, "new": new})


async def update_user(session: AsyncSession, user_id: int, changes: dict[str, Any],
                      *, touch: bool = False) -> User | None:
    """Apply ``changes`` (column → value) and bump updated_at; ``touch`` sets last_seen.

    A changed username is recorded in ``user_username_history``. None when
    the user does not exist.
    """
    current = await get_user(session, user_id, for_update=True)
    if current is None:
        return None
    if "username" in changes:
        changes["username"] = changes["username"] or None
        if changes["username"] == current.username:
            del changes["username"]
        else:
            await record_username_change(session, user_id, current.username, changes["username"])
    sets = [f"{col} = :{col}" for col in changes]
    if changes:
        sets.append("updated_at = now()")
    if touch:
        sets.append("last_seen = now()")
    if not sets:
        return current
    row = (await session.execute(text(
        f"UPDATE users SET {', '.join(sets)} WHERE user_id = :user_id RETURNING {_USER_COLUMNS}"
    ), {**changes, "user_id": user_id})).first()
    return _user(row)


async def upsert_users(session: AsyncSession, profiles: Sequence[UserProfile], *,
                       seen: bool = False) -> dict[int, bool]:
    """Create or update many users in one statement; user id → True if created.

    Usernames that change are recorded in the history. ``profiles`` must not
    repeat an id (the caller deduplicates). ``seen``: they were just active in
    Telegram, so ``last_seen`` becomes now.
    """
    if not profiles:
        return {}
    ids = [p.user_id for p in profiles]
    before = dict((await session.execute(text(
        "SELECT user_id, username FROM users WHERE user_id = ANY(:ids) ORDER BY user_id FOR UPDATE"
    ), {"ids": ids})).all())
    params = [_profile_params(p) for p in profiles]
    rows = (await session.execute(text(
        "INSERT INTO users (user_id, username, first_name, last_name, language_code, is_bot, "
        " last_seen) "
        "SELECT *, CASE WHEN :seen THEN now() END FROM unnest(CAST(:ids AS bigint[]), "
        "CAST(:usernames AS varchar[]), "
        "CAST(:firsts AS varchar[]), CAST(:lasts AS varchar[]), CAST(:langs AS varchar[]), "
        "CAST(:bots AS boolean[])) "
        "ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, "
        "first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
        "language_code = EXCLUDED.language_code, is_bot = EXCLUDED.is_bot, updated_at = now(), "
        "last_seen = coalesce(EXCLUDED.last_seen, users.last_seen) "
        "RETURNING user_id, (xmax = 0) AS inserted"
    ), {"seen": seen, "ids": ids, "usernames": [p["username"] for p in params],
        "firsts": [p["first_name"] for p in params], "lasts": [p["last_name"] for p in params],
        "langs": [p["language_code"] for p in params], "bots": [p["is_bot"] for p in params]},
    )).all()
    for p in params:
        if p["user_id"] in before and before[p["user_id"]] != p["username"]:
            await record_username_change(session, p["user_id"], before[p["user_id"]], p["username"])
    return {row.user_id: bool(row.inserted) for row in rows}


async def username_history(session: AsyncSession, user_id: int) -> list[tuple[str | None, str | None]]:
    """(old, new) username pairs of a user, oldest first."""
    rows = (await session.execute(text(
        "SELECT old_username, new_username FROM user_username_history WHERE user_id = :u ORDER BY id"
    ), {"u": user_id})).all()
    return [(r.old_username, r.new_username) for r in rows]


async def get_settings(session: AsyncSession, user_id: int) -> UserSettings | None:
    """The stored settings, or None when the user never saved any."""
    row = (await session.execute(text(
        "SELECT user_id, notifications_enabled, language, timezone, settings "
        "FROM user_settings WHERE user_id = :u"), {"u": user_id})).first()
    return UserSettings(**dict(row._mapping)) if row else None


async def upsert_settings(session: AsyncSession, user_id: int,
                          changes: dict[str, Any]) -> tuple[UserSettings, datetime]:
    """Write the changed settings (creating the row with defaults first if needed).

    Returns the settings as written and the time of the change. The row stays
    locked until the transaction ends and the time is read after taking the
    lock, so of two changes to one user's settings the one that commits later
    always has the later time (what ``user.settings_updated`` consumers order by).
    """
    await session.execute(text(
        "INSERT INTO user_settings (user_id) VALUES (:u) ON CONFLICT (user_id) DO NOTHING"),
        {"u": user_id})
    # Lock even when nothing changes: the event of this call must not be dated
    # before a concurrent change that commits first.
    await session.execute(text("SELECT 1 FROM user_settings WHERE user_id = :u FOR UPDATE"),
                          {"u": user_id})
    if changes:
        params = dict(changes)
        if "settings" in params:
            params["settings"] = json.dumps(params["settings"])
        sets = ", ".join(
            f"{col} = CAST(:{col} AS jsonb)" if col == "settings" else f"{col} = :{col}"
            for col in params)
        await session.execute(text(f"UPDATE user_settings SET {sets} WHERE user_id = :user_id"),
                              {**params, "user_id": user_id})
    settings = await get_settings(session, user_id)
    assert settings is not None  # inserted above, in this transaction
    # clock_timestamp(), not now(): now() is the transaction's start, which can
    # precede the commit of the change we waited for on the lock.
    changed_at = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    return settings, changed_at

"""Users and user settings over a real gRPC server, PostgreSQL and Redis (seed 001 §3)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2
from tenantry.moderation.v1 import users_pb2 as pb
from tenantry.moderation.v1 import users_pb2_grpc as pb_grpc

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.naming import schema_name, tenant_key
from services.kit.status import DecodedStatus, decode_error
from tests.moderation.conftest import auth


@pytest.fixture
def users(moderation_server: Any) -> pb_grpc.UserServiceStub:
    return pb_grpc.UserServiceStub(moderation_server[1])


async def fails(call: Any) -> DecodedStatus:
    """Await a call that must fail; its decoded status."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return decode_error(info.value)


async def count(engine: Any, tenant: str, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(
            text(f'SELECT count(*) FROM "{schema_name("moderation", tenant)}".{table}'))).scalar_one())


async def test_create_get_update_deactivate_user(users, moderation_tenant, redis, engine):
    md = auth(moderation_tenant, "moderator")
    made = await users.CreateUser(pb.CreateUserRequest(user_id=42, username="alice", first_name="Alice"),
                                  metadata=md)
    assert made.user.user_id == 42 and made.user.language_code == "en" and made.user.is_active
    assert not made.user.HasField("last_seen")

    dup = await fails(users.CreateUser(pb.CreateUserRequest(user_id=42), metadata=md))
    assert dup.code == grpc.StatusCode.ALREADY_EXISTS and dup.reason == "user_exists"

    key = tenant_key(moderation_tenant, "user", 42)
    assert not await redis.exists(key)
    got = await users.GetUser(pb.GetUserRequest(user_id=42), metadata=auth(moderation_tenant, "member"))
    assert got.user.username == "alice"
    assert await redis.exists(key)
    assert 0 < await redis.ttl(key) <= 300

    # A write drops the cache; the next read sees the new name, and the change is recorded.
    updated = await users.UpdateUser(pb.UpdateUserRequest(user_id=42, username="alice_new"), metadata=md)
    assert updated.user.username == "alice_new" and updated.user.first_name == "Alice"
    assert not await redis.exists(key)
    assert (await users.GetUser(pb.GetUserRequest(user_id=42), metadata=md)).user.username == "alice_new"
    async with engine.connect() as conn:
        history = (await conn.execute(text(
            f'SELECT old_username, new_username FROM "{schema_name("moderation", moderation_tenant)}"'
            ".user_username_history WHERE user_id = 42"))).all()
    assert [tuple(r) for r in history] == [("alice", "alice_new")]

    touched = await users.TouchUser(pb.TouchUserRequest(user_id=42), metadata=md)
    assert touched.user.HasField("last_seen") and touched.user.username == "alice_new"

    gone = await users.DeactivateUser(pb.DeactivateUserRequest(user_id=42), metadata=md)
    assert not gone.user.is_active
    assert not (await users.GetUser(pb.GetUserRequest(user_id=42), metadata=md)).user.is_active


async def test_touch_records_a_username_seen_in_telegram(users, moderation_tenant, engine):
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=7, username="old"), metadata=md)
    same = await users.TouchUser(pb.TouchUserRequest(user_id=7, username="old"), metadata=md)
    assert same.user.username == "old"
    assert await count(engine, moderation_tenant, "user_username_history") == 0
    changed = await users.TouchUser(pb.TouchUserRequest(user_id=7, username="renamed"), metadata=md)
    assert changed.user.username == "renamed"
    assert await count(engine, moderation_tenant, "user_username_history") == 1


async def test_unknown_user_is_not_found(users, moderation_tenant):
    md = auth(moderation_tenant, "admin")
    for call in (users.GetUser(pb.GetUserRequest(user_id=99), metadata=md),
                 users.UpdateUser(pb.UpdateUserRequest(user_id=99, first_name="x"), metadata=md),
                 users.DeactivateUser(pb.DeactivateUserRequest(user_id=99), metadata=md),
                 users.GetUserSettings(pb.GetUserSettingsRequest(user_id=99), metadata=md)):
        err = await fails(call)
        assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "user_not_found"


async def test_bad_user_input_writes_nothing(users, moderation_tenant, engine):
    md = auth(moderation_tenant, "admin")
    err = await fails(users.CreateUser(pb.CreateUserRequest(
        user_id=-5, username="x" * 256, language_code="not a language"), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"user_id", "username", "language_code"}
    err = await fails(users.CreateUser(pb.CreateUserRequest(user_id=5, first_name="a\x00b"), metadata=md))
    assert [v.field for v in err.violations] == ["first_name"]
    assert await count(engine, moderation_tenant, "users") == 0


async def test_roles_reads_member_writes_moderator(users, moderation_tenant, engine):
    err = await fails(users.CreateUser(pb.CreateUserRequest(user_id=1),
                                       metadata=auth(moderation_tenant, "member")))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert await count(engine, moderation_tenant, "users") == 0
    err = await fails(users.GetUser(pb.GetUserRequest(user_id=1)))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED


async def test_batch_upsert_reports_each_item(users, moderation_tenant, engine):
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=1, username="one"), metadata=md)
    items = [pb.UserProfileInput(user_id=1, username="uno"),
             pb.UserProfileInput(user_id=2, username="two"),
             pb.UserProfileInput(user_id=0, username="bad"),
             pb.UserProfileInput(user_id=2, username="again")]
    out = await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=items), metadata=md)
    assert [(r.user_id, r.status) for r in out.results] == [
        (1, "updated"), (2, "created"), (0, "invalid"), (2, "invalid")]
    assert "user_id" in out.results[2].error and "repeats" in out.results[3].error
    assert (out.created, out.updated, out.invalid) == (1, 1, 2)
    assert (await users.GetUser(pb.GetUserRequest(user_id=1), metadata=md)).user.username == "uno"
    assert await count(engine, moderation_tenant, "user_username_history") == 1

    too_many = [pb.UserProfileInput(user_id=i + 10) for i in range(1001)]
    err = await fails(users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=too_many), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.violations[0].field == "users"
    assert await count(engine, moderation_tenant, "users") == 2

    full = [pb.UserProfileInput(user_id=i + 10, first_name=f"u{i}") for i in range(1000)]
    out = await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=full), metadata=md)
    assert out.created == 1000
    assert await count(engine, moderation_tenant, "users") == 1002


async def test_batch_upsert_seen_by_the_bot_records_activity(users, moderation_tenant):
    md = auth(moderation_tenant, "moderator")
    await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=[
        pb.UserProfileInput(user_id=40, username="imported")]), metadata=md)
    imported = (await users.GetUser(pb.GetUserRequest(user_id=40), metadata=md)).user
    assert not imported.HasField("last_seen")  # an import is no activity
    await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(seen=True, users=[
        pb.UserProfileInput(user_id=40, username="renamed"),
        pb.UserProfileInput(user_id=41, username="newcomer")]), metadata=md)
    for uid, name in ((40, "renamed"), (41, "newcomer")):
        user = (await users.GetUser(pb.GetUserRequest(user_id=uid), metadata=md)).user
        assert user.HasField("last_seen") and user.username == name
    seen_at = (await users.GetUser(pb.GetUserRequest(user_id=41), metadata=md)).user.last_seen
    # A later import does not erase the activity it did not see.
    await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=[
        pb.UserProfileInput(user_id=41, username="newcomer")]), metadata=md)
    again = (await users.GetUser(pb.GetUserRequest(user_id=41), metadata=md)).user
    assert again.last_seen == seen_at


async def test_user_settings_defaults_update_and_cache(users, moderation_tenant, redis):
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=5), metadata=md)
    got = await users.GetUserSettings(pb.GetUserSettingsRequest(user_id=5), metadata=md)
    assert (got.settings.language, got.settings.timezone, got.settings.notifications_enabled) == (
        "ru", "UTC", True)
    key = tenant_key(moderation_tenant, "user_settings", 5)
    assert await redis.exists(key)

    extra = struct_pb2.Struct()
    extra.update({"digest": True, "topics": ["ban"]})
    out = await users.UpdateUserSettings(pb.UpdateUserSettingsRequest(
        user_id=5, language="en", timezone="Europe/Moscow", notifications_enabled=False,
        settings=extra), metadata=md)
    assert (out.settings.language, out.settings.timezone, out.settings.notifications_enabled) == (
        "en", "Europe/Moscow", False)
    assert not await redis.exists(key)
    again = await users.GetUserSettings(pb.GetUserSettingsRequest(user_id=5), metadata=md)
    assert again.settings.settings["digest"] is True and list(again.settings.settings["topics"]) == ["ban"]

    # Only the fields that are set change.
    out = await users.UpdateUserSettings(pb.UpdateUserSettingsRequest(user_id=5, language="ru"),
                                         metadata=md)
    assert out.settings.timezone == "Europe/Moscow" and out.settings.language == "ru"

    err = await fails(users.UpdateUserSettings(pb.UpdateUserSettingsRequest(
        user_id=5, timezone="Mars/Olympus", language="x"), metadata=md))
    assert {v.field for v in err.violations} == {"timezone", "language"}
    assert (await users.GetUserSettings(pb.GetUserSettingsRequest(user_id=5), metadata=md)
            ).settings.timezone == "Europe/Moscow"


async def test_other_tenant_cannot_see_users(users, moderation_tenant, engine, tenant_name):
    from services.kit.migrations import migrate

    other = tenant_name + "b"
    await migrate(engine, "moderation", other)
    await users.CreateUser(pb.CreateUserRequest(user_id=77), metadata=auth(moderation_tenant))
    err = await fails(users.GetUser(pb.GetUserRequest(user_id=77), metadata=auth(other)))
    assert err.code == grpc.StatusCode.NOT_FOUND
    # A tenant without a moderation schema is unknown too.
    err = await fails(users.GetUser(pb.GetUserRequest(user_id=77), metadata=auth("nosuchtenant")))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def settings_events(engine: Any, tenant: str) -> list[tuple[EventEnvelope, events_pb2.UserSettingsUpdated]]:
    """The user.settings_updated events in the tenant's outbox, oldest first."""
    async with engine.connect() as conn:
        blobs = (await conn.execute(text(
            f'SELECT envelope FROM "{schema_name("moderation", tenant)}".outbox '
            "WHERE topic = 'user.settings_updated' ORDER BY id"))).scalars().all()
    out = []
    for blob in blobs:
        envelope = EventEnvelope.FromString(bytes(blob))
        out.append((envelope, unpack(envelope, events_pb2.UserSettingsUpdated)))
    return out


async def test_settings_change_writes_one_event_with_the_whole_settings(users, moderation_tenant, engine):
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=5), metadata=md)
    await users.BatchUpsertUsers(pb.BatchUpsertUsersRequest(users=[pb.UserProfileInput(user_id=6)]),
                                 metadata=md)
    assert await settings_events(engine, moderation_tenant) == []  # profiles carry no settings

    await users.UpdateUserSettings(pb.UpdateUserSettingsRequest(
        user_id=5, notifications_enabled=False, language="en", timezone="Europe/Moscow"), metadata=md)
    ((envelope, first),) = await settings_events(engine, moderation_tenant)
    assert (envelope.event_type, envelope.tenant) == ("user.settings_updated", moderation_tenant)
    assert (first.user_id, first.notifications_enabled, first.language, first.timezone) == (
        5, False, "en", "Europe/Moscow")
    assert first.HasField("updated_at")

    # Only the language changes; the event still carries every setting, and a later time.
    await users.UpdateUserSettings(pb.UpdateUserSettingsRequest(user_id=5, language="ru"), metadata=md)
    (_, again), (_, second) = await settings_events(engine, moderation_tenant)
    assert again == first
    assert (second.notifications_enabled, second.language, second.timezone) == (False, "ru", "Europe/Moscow")
    assert second.updated_at.ToDatetime() > first.updated_at.ToDatetime()

    # Refused updates write nothing: bad values, an unknown user, a caller without the role.
    await fails(users.UpdateUserSettings(pb.UpdateUserSettingsRequest(user_id=5, timezone="Mars/Olympus"),
                                         metadata=md))
    await fails(users.UpdateUserSettings(pb.UpdateUserSettingsRequest(user_id=99, language="en"), metadata=md))
    await fails(users.UpdateUserSettings(pb.UpdateUserSettingsRequest(user_id=5, language="en"),
                                         metadata=auth(moderation_tenant, "member")))
    assert len(await settings_events(engine, moderation_tenant)) == 2


async def test_settings_and_their_event_commit_together(users, moderation_tenant, engine, monkeypatch):
    from services.kit.bus import outbox
    from services.moderation.users import service

    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=5), metadata=md)

    async def enqueue_then_fail(session: Any, *envelopes: Any) -> None:
        await outbox.enqueue(session, *envelopes)
        raise RuntimeError("the transaction fails after the event was written")

    monkeypatch.setattr(service, "enqueue", enqueue_then_fail)
    err = await fails(users.UpdateUserSettings(pb.UpdateUserSettingsRequest(
        user_id=5, notifications_enabled=False), metadata=md))
    assert err.code == grpc.StatusCode.INTERNAL
    # Neither the change nor its event survived.
    assert await count(engine, moderation_tenant, "user_settings") == 0
    assert await settings_events(engine, moderation_tenant) == []


async def test_concurrent_settings_changes_are_dated_in_commit_order(users, moderation_tenant, engine):
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(pb.CreateUserRequest(user_id=5), metadata=md)
    zones = ["Europe/Moscow", "Asia/Tokyo", "America/New_York", "Europe/Berlin", "Asia/Dubai", "UTC"]
    await asyncio.gather(*(users.UpdateUserSettings(
        pb.UpdateUserSettingsRequest(user_id=5, timezone=zone), metadata=md) for zone in zones))
    events = [payload for _, payload in await settings_events(engine, moderation_tenant)]
    assert sorted(e.timezone for e in events) == sorted(zones)
    stamps = [e.updated_at.ToDatetime() for e in events]
    assert len(set(stamps)) == len(zones)
    # Whoever applies the newest event ends where the table ends.
    newest = max(events, key=lambda e: e.updated_at.ToDatetime())
    got = await users.GetUserSettings(pb.GetUserSettingsRequest(user_id=5), metadata=md)
    assert got.settings.timezone == newest.timezone

"""Identity over real gRPC: accounts, tokens (rotation, revocation), memberships, roles."""

from __future__ import annotations

import grpc
import pytest
from tenantry.identity.v1 import identity_pb2 as pb
from tenantry.identity.v1 import identity_pb2_grpc as pb_grpc

from services.identity import main as identity_main
from services.identity.accounts import Identity
from services.identity.registry import ensure_identity_schema, register_tenant
from services.kit.status import decode_error
from tests.support import bearer, channel, running


@pytest.fixture
async def identity(engine, redis_url, tenant_name):
    await ensure_identity_schema(engine)
    await register_tenant(engine, name=tenant_name, display_name="Acme", apps=["moderation"],
                          limits={}, retention_days=365)
    async with running("identity", identity_main.build, public=identity_main.PUBLIC_METHODS) as rt:
        ch = channel(rt)
        yield pb_grpc.IdentityServiceStub(ch), rt
        await ch.close()


async def _owner(stub, rt, tenant: str, email: str) -> pb.TokenPair:
    await Identity(rt.db.engine, rt.redis).bootstrap_member(tenant, email, "correct-horse-1", "owner")
    return (await stub.Login(pb.LoginRequest(email=email, password="correct-horse-1"))).tokens


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_register_login_profile_and_refresh_rotation(identity, tenant_name):
    stub, rt = identity
    email = f"{tenant_name}@example.com"
    tokens = await _owner(stub, rt, tenant_name, email)
    assert tokens.tenant == tenant_name and tokens.role == pb.ROLE_OWNER
    me = await stub.GetProfile(pb.GetProfileRequest(), metadata=_auth(tokens.access_token))
    assert me.user.email == email
    rotated = (await stub.Refresh(pb.RefreshRequest(refresh_token=tokens.refresh_token))).tokens
    assert rotated.refresh_token != tokens.refresh_token
    # Reusing the old refresh token is theft: it fails, and revokes the rotated one too.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Refresh(pb.RefreshRequest(refresh_token=tokens.refresh_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Refresh(pb.RefreshRequest(refresh_token=rotated.refresh_token))


async def test_bad_registration_lists_every_field_and_writes_nothing(identity, engine):
    stub, _ = identity
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(pb.RegisterRequest(email="nope", password="short", display_name=""))
    decoded = decode_error(err.value)
    assert decoded.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in decoded.violations} == {"email", "password", "display_name"}
    from sqlalchemy import text

    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM identity.users WHERE email = 'nope'"))).scalar() == 0


async def test_duplicate_email_is_already_exists(identity, tenant_name):
    stub, _ = identity
    req = pb.RegisterRequest(email=f"dup-{tenant_name}@example.com", password="0123456789ab",
                             display_name="Dup")
    await stub.Register(req)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(req)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_logout_revokes_access_and_deactivation_blocks_tokens(identity, tenant_name):
    stub, rt = identity
    tokens = await _owner(stub, rt, tenant_name, f"out-{tenant_name}@example.com")
    await stub.Logout(pb.LogoutRequest(refresh_token=tokens.refresh_token), metadata=_auth(tokens.access_token))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=_auth(tokens.access_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    fresh = (await stub.Login(pb.LoginRequest(email=f"out-{tenant_name}@example.com",
                                              password="correct-horse-1"))).tokens
    await stub.DeactivateProfile(pb.DeactivateProfileRequest(), metadata=_auth(fresh.access_token))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=_auth(fresh.access_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_forged_expired_and_missing_tokens_are_unauthenticated(identity):
    stub, _ = identity
    forged = "Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for metadata in [(), (("authorization", forged),), bearer(ttl=-10)]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetProfile(pb.GetProfileRequest(), metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_roles_memberships_and_tenant_isolation(identity, engine, tenant_name):
    stub, rt = identity
    other = tenant_name + "x"
    await register_tenant(engine, name=other, display_name="Other", apps=[], limits={}, retention_days=30)
    owner = await _owner(stub, rt, tenant_name, f"own-{tenant_name}@example.com")
    stranger = await _owner(stub, rt, other, f"own-{other}@example.com")
    await stub.Register(pb.RegisterRequest(email=f"mod-{tenant_name}@example.com", password="0123456789ab",
                                           display_name="Mod"))
    added = await stub.AddMember(pb.AddMemberRequest(tenant=tenant_name, email=f"mod-{tenant_name}@example.com",
                                                     role=pb.ROLE_MODERATOR), metadata=_auth(owner.access_token))
    assert added.membership.role == pb.ROLE_MODERATOR
    mod = (await stub.Login(pb.LoginRequest(email=f"mod-{tenant_name}@example.com", password="0123456789ab"))).tokens
    # A moderator may not manage members.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateMember(pb.UpdateMemberRequest(tenant=tenant_name, user_id=added.membership.user_id,
                                                       role=pb.ROLE_OWNER), metadata=_auth(mod.access_token))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Another tenant's owner sees nothing of this tenant.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListMembers(pb.ListMembersRequest(tenant=tenant_name), metadata=_auth(stranger.access_token))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    page1 = await stub.ListMembers(pb.ListMembersRequest(tenant=tenant_name, page={"page_size": 1}),
                                   metadata=_auth(owner.access_token))
    page2 = await stub.ListMembers(pb.ListMembersRequest(tenant=tenant_name, page={
        "page_size": 1, "page_token": page1.page.next_page_token}), metadata=_auth(owner.access_token))
    assert len(page1.members) == len(page2.members) == 1
    assert page1.members[0].user_id != page2.members[0].user_id and not page2.page.next_page_token
    await stub.RemoveMember(pb.RemoveMemberRequest(tenant=tenant_name, user_id=added.membership.user_id),
                            metadata=_auth(owner.access_token))
    assert len((await stub.ListMembers(pb.ListMembersRequest(tenant=tenant_name),
                                       metadata=_auth(owner.access_token))).members) == 1


async def test_health_and_reflection_list_the_service(identity):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    _, rt = identity
    ch = channel(rt)
    status = await health_pb2_grpc.HealthStub(ch).Check(
        health_pb2.HealthCheckRequest(service="tenantry.identity.v1.IdentityService"))
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    stream = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = set()
    async for response in stream:
        names |= {s.name for s in response.list_services_response.service}
    assert "tenantry.identity.v1.IdentityService" in names and "grpc.health.v1.Health" in names
    await ch.close()


async def test_grpc_probe_lists_services_and_health(identity):
    from services.tools.grpc_probe import probe

    _, rt = identity
    names, status = await probe(f"127.0.0.1:{rt.server.port}")
    assert "tenantry.identity.v1.IdentityService" in names
    assert status["(server)"] == "SERVING" and status["tenantry.identity.v1.IdentityService"] == "SERVING"


async def test_bootstrap_member_resets_the_password_of_an_existing_account(identity, tenant_name):
    stub, rt = identity
    email = f"boot-{tenant_name}@example.com"
    ident = Identity(rt.db.engine, rt.redis)
    first = await ident.bootstrap_member(tenant_name, email, "first-password-1", "owner")
    again = await ident.bootstrap_member(tenant_name, email, "second-password-2", "admin")
    assert first == again
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Login(pb.LoginRequest(email=email, password="first-password-1"))
    tokens = (await stub.Login(pb.LoginRequest(email=email, password="second-password-2"))).tokens
    assert tokens.role == pb.ROLE_ADMIN

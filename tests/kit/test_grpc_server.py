"""The gRPC bootstrap: error mapping, graceful drain, client deadlines and retries."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from tenantry.identity.v1 import identity_pb2 as pb
from tenantry.identity.v1 import identity_pb2_grpc as pb_grpc

from services.kit.errors import FieldViolation, InvalidArgument, ResourceExhausted
from services.kit.grpc_client import idempotent_methods, make_channel, service_config
from services.kit.grpc_server import ServiceServer
from services.kit.status import decode_error
from tests.support import bearer

SERVICE = pb.DESCRIPTOR.services_by_name["IdentityService"]


class Scripted(pb_grpc.IdentityServiceServicer):
    """A servicer whose behaviour each test scripts."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def GetProfile(self, request, ctx):
        self.calls += 1
        if self.calls <= 2:
            await ctx.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return pb.GetProfileResponse(user=pb.User(id="u"))

    async def GetTenant(self, request, ctx):  # slow call, released by the test
        self.started.set()
        await self.release.wait()
        return pb.GetTenantResponse(tenant=pb.Tenant(name=request.tenant))

    async def Register(self, request, ctx):
        raise InvalidArgument("bad", violations=[FieldViolation("email", "must be valid")])

    async def Login(self, request, ctx):
        raise ResourceExhausted("slow down", code="rate_limited", retry_after=7)

    async def Logout(self, request, ctx):
        raise RuntimeError("secret internals /etc/passwd")

    async def AddMember(self, request, ctx):  # never answers: for deadlines
        await asyncio.sleep(30)


@pytest.fixture
async def server():
    servicer = Scripted()
    srv = ServiceServer("scripted", port=0, grace_seconds=5)
    srv.add(pb_grpc.add_IdentityServiceServicer_to_server, servicer, SERVICE.full_name)
    await srv.start()
    yield srv, servicer
    servicer.release.set()
    await srv.stop()


def _stub(srv: ServiceServer, **kw) -> tuple[grpc.aio.Channel, pb_grpc.IdentityServiceStub]:
    ch = make_channel(f"127.0.0.1:{srv.port}", SERVICE, **kw)
    return ch, pb_grpc.IdentityServiceStub(ch)


async def test_domain_errors_map_to_status_with_details_and_no_trace(server):
    srv, _ = server
    ch, stub = _stub(srv)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(pb.RegisterRequest(), metadata=bearer())
    bad = decode_error(err.value)
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT and bad.violations == [FieldViolation("email", "must be valid")]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Login(pb.LoginRequest(), metadata=bearer())
    limited = decode_error(err.value)
    assert limited.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (limited.reason, limited.retry_after) == ("rate_limited", 7)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Logout(pb.LogoutRequest(), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "passwd" not in err.value.details() and "Traceback" not in err.value.details()
    await ch.close()


async def test_idempotent_calls_retry_through_service_config(server):
    srv, servicer = server
    assert set(idempotent_methods(SERVICE)) >= {"GetProfile", "ListMembers"}
    assert "Register" not in idempotent_methods(SERVICE)
    config = json.loads(service_config(SERVICE))
    retry = next(c for c in config["methodConfig"] if "retryPolicy" in c)
    assert retry["retryPolicy"]["maxAttempts"] == 4
    ch, stub = _stub(srv)
    reply = await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer())
    assert reply.user.id == "u" and servicer.calls == 3
    await ch.close()


async def test_every_call_gets_a_default_deadline(server):
    srv, _ = server
    ch, stub = _stub(srv, deadline=0.3)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.AddMember(pb.AddMemberRequest(), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await ch.close()


async def test_graceful_shutdown_drains_a_slow_in_flight_call(server):
    srv, servicer = server
    ch, stub = _stub(srv, deadline=10)
    async def slow_call() -> pb.GetTenantResponse:
        return await stub.GetTenant(pb.GetTenantRequest(tenant="slow"), metadata=bearer())

    call = asyncio.create_task(slow_call())
    await servicer.started.wait()
    stopping = asyncio.create_task(srv.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # still draining
    # New calls are refused while draining.
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.GetTenant(pb.GetTenantRequest(tenant="late"), metadata=bearer(), timeout=1)
    servicer.release.set()
    reply = await call
    assert reply.tenant.name == "slow"
    await stopping
    await ch.close()

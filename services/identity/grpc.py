"""gRPC adapter of the identity service: protobuf in, domain calls, protobuf out."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2
from tenantry.common.v1 import pagination_pb2
from tenantry.identity.v1 import identity_pb2 as pb
from tenantry.identity.v1 import identity_pb2_grpc as pb_grpc

from services.kit import context
from services.kit.errors import InvalidArgument, NotFound
from services.kit.service import Runtime

from .accounts import Account, Identity, MembershipRow, Tokens

_ROLE_TO_PB = {"member": pb.ROLE_MEMBER, "moderator": pb.ROLE_MODERATOR, "admin": pb.ROLE_ADMIN,
               "owner": pb.ROLE_OWNER}
_PB_TO_ROLE = {v: k for k, v in _ROLE_TO_PB.items()}
Ctx = grpc.aio.ServicerContext
SERVICE = pb.DESCRIPTOR.services_by_name["IdentityService"]
_P = f"/{SERVICE.full_name}/"
PUBLIC_METHODS = frozenset({_P + "Register", _P + "Login", _P + "Refresh", _P + "Logout"})


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def _user(a: Account) -> pb.User:
    return pb.User(id=a.id, email=a.email, display_name=a.display_name, is_active=a.is_active,
                   created_at=_ts(a.created_at))


def _membership(m: MembershipRow) -> pb.Membership:
    return pb.Membership(tenant=m.tenant, user_id=m.user_id, email=m.email,
                         role=_ROLE_TO_PB[m.role], created_at=_ts(m.created_at))


def _tokens(t: Tokens) -> pb.TokenPair:
    return pb.TokenPair(access_token=t.access_token, refresh_token=t.refresh_token,
                        token_type="Bearer", expires_in=t.expires_in, tenant=t.tenant or "",
                        role=_ROLE_TO_PB.get(t.role or "", pb.ROLE_UNSPECIFIED))


def _role(value: int) -> str:
    if value not in _PB_TO_ROLE:
        raise InvalidArgument.field("role", "must be ROLE_OWNER, ROLE_ADMIN, ROLE_MODERATOR or ROLE_MEMBER")
    return _PB_TO_ROLE[value]


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    """Thin adapter over :class:`Identity`."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def Register(self, request: pb.RegisterRequest, ctx: Ctx) -> pb.RegisterResponse:
        account = await self.identity.register(request.email, request.password, request.display_name)
        return pb.RegisterResponse(user=_user(account))

    async def Login(self, request: pb.LoginRequest, ctx: Ctx) -> pb.LoginResponse:
        tokens = await self.identity.login(request.email, request.password, request.tenant)
        return pb.LoginResponse(tokens=_tokens(tokens))

    async def Refresh(self, request: pb.RefreshRequest, ctx: Ctx) -> pb.RefreshResponse:
        return pb.RefreshResponse(tokens=_tokens(await self.identity.refresh(request.refresh_token)))

    async def Logout(self, request: pb.LogoutRequest, ctx: Ctx) -> pb.LogoutResponse:
        await self.identity.logout(request.refresh_token, context.current_or_none())
        return pb.LogoutResponse()

    async def GetProfile(self, request: pb.GetProfileRequest, ctx: Ctx) -> pb.GetProfileResponse:
        return pb.GetProfileResponse(user=_user(await self.identity.get(context.current().subject)))

    async def UpdateProfile(self, request: pb.UpdateProfileRequest, ctx: Ctx) -> pb.UpdateProfileResponse:
        account = await self.identity.update_profile(
            context.current().subject, display_name=request.display_name,
            new_password=request.new_password, current_password=request.current_password)
        return pb.UpdateProfileResponse(user=_user(account))

    async def DeactivateProfile(self, request: pb.DeactivateProfileRequest, ctx: Ctx) -> pb.DeactivateProfileResponse:
        return pb.DeactivateProfileResponse(user=_user(await self.identity.deactivate(context.current().subject)))

    async def ListMyMemberships(self, request: pb.ListMyMembershipsRequest, ctx: Ctx) -> pb.ListMyMembershipsResponse:
        rows = await self.identity.memberships_of(context.current().subject)
        return pb.ListMyMembershipsResponse(memberships=[_membership(m) for m in rows])

    async def GetTenant(self, request: pb.GetTenantRequest, ctx: Ctx) -> pb.GetTenantResponse:
        caller = context.current()
        if not caller.is_service and caller.tenant != request.tenant:
            raise NotFound(f"tenant {request.tenant!r} not found")
        row = await self.identity.tenant(request.tenant)
        return pb.GetTenantResponse(tenant=pb.Tenant(name=row.name, display_name=row.display_name,
                                                      apps=list(row.apps)))

    async def AddMember(self, request: pb.AddMemberRequest, ctx: Ctx) -> pb.AddMemberResponse:
        m = await self.identity.add_member(context.current(), request.tenant, request.email,
                                           _role(request.role))
        return pb.AddMemberResponse(membership=_membership(m))

    async def ListMembers(self, request: pb.ListMembersRequest, ctx: Ctx) -> pb.ListMembersResponse:
        items, next_token = await self.identity.list_members(
            context.current(), request.tenant, request.page.page_size, request.page.page_token)
        return pb.ListMembersResponse(members=[_membership(m) for m in items],
                                      page=pagination_pb2.PageResponse(next_page_token=next_token))

    async def UpdateMember(self, request: pb.UpdateMemberRequest, ctx: Ctx) -> pb.UpdateMemberResponse:
        m = await self.identity.update_member(context.current(), request.tenant, request.user_id,
                                              _role(request.role))
        return pb.UpdateMemberResponse(membership=_membership(m))

    async def RemoveMember(self, request: pb.RemoveMemberRequest, ctx: Ctx) -> pb.RemoveMemberResponse:
        await self.identity.remove_member(context.current(), request.tenant, request.user_id)
        return pb.RemoveMemberResponse()


def register(rt: Runtime) -> None:
    """Serve the identity API on the runtime."""
    servicer = IdentityServicer(Identity(rt.db.engine, rt.redis))
    rt.add_servicer(pb_grpc.add_IdentityServiceServicer_to_server, servicer, SERVICE)

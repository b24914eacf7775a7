"""JWT access, refresh and service tokens (PyJWT, HS256), and the revocation list.

Access tokens are short-lived and carry the tenant and role; refresh tokens are
single-use (rotated on every refresh); service tokens let one service call
another on behalf of a tenant. Revoked token ids live in Redis until the token
would have expired anyway, so the list never grows without bound.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from redis.asyncio import Redis

from .context import Principal
from .errors import Unauthenticated
from .settings import Settings, get_settings

REVOKED_PREFIX = "platform:revoked:"
DISABLED_PREFIX = "platform:disabled:"


def _encode(claims: dict[str, Any], settings: Settings) -> str:
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(),
                      algorithm=settings.jwt_algorithm)


def issue_token(subject: str, *, typ: str, tenant: str | None = None, role: str | None = None,
                ttl: int | None = None, extra: dict[str, Any] | None = None,
                settings: Settings | None = None) -> tuple[str, dict[str, Any]]:
    """Sign a token of type ``typ`` (access | refresh | service); return it and its claims."""
    settings = settings or get_settings()
    if ttl is None:
        ttl = {"access": settings.jwt_access_ttl_seconds,
               "refresh": settings.jwt_refresh_ttl_seconds,
               "service": settings.jwt_service_ttl_seconds}[typ]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer, "sub": subject, "typ": typ, "jti": uuid.uuid4().hex,
        "iat": now, "exp": now + ttl,
    }
    if tenant:
        claims["tenant"] = tenant
    if role:
        claims["role"] = role
    if extra:
        claims.update(extra)
    return _encode(claims, settings), claims


def mint_service_token(service: str, tenant: str | None = None) -> str:
    """A short-lived token for ``service`` calling another service for ``tenant``."""
    token, _ = issue_token(f"service:{service}", typ="service", tenant=tenant, role="service")
    return token


#: Tokens whose signature, issuer and required claims were verified, by the exact token
#: string (and key): a repeat presentation skips the HMAC and the JSON parsing, but still
#: has its time claims checked (below) and the revocation list consulted (authenticate).
_VERIFIED: dict[tuple[str, str, str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 10_000


def _check_times(claims: dict[str, Any]) -> None:
    """PyJWT's time checks (leeway 0) for a token verified earlier."""
    now = time.time()
    if int(claims["exp"]) <= now:
        raise Unauthenticated("token expired", code="token_expired")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and int(value) > now:
            raise Unauthenticated("invalid token", code="invalid_token")


def decode_token(token: str, *, expected_typ: str | tuple[str, ...] = ("access", "service"),
                 settings: Settings | None = None) -> dict[str, Any]:
    """Verify signature, issuer, expiry and type; UNAUTHENTICATED on any failure."""
    settings = settings or get_settings()
    secret = settings.jwt_secret.get_secret_value()
    key = (token, secret, settings.jwt_algorithm, settings.jwt_issuer)
    verified = _VERIFIED.get(key)
    if verified is not None:
        try:
            _check_times(verified)
        except Unauthenticated:
            _VERIFIED.pop(key, None)
            raise
        claims = dict(verified)
    else:
        try:
            claims = jwt.decode(
                token, secret, algorithms=[settings.jwt_algorithm],
                issuer=settings.jwt_issuer, options={"require": ["exp", "iat", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token", code="invalid_token") from None
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.pop(next(iter(_VERIFIED)))
        _VERIFIED[key] = dict(claims)
    allowed = (expected_typ,) if isinstance(expected_typ, str) else expected_typ
    if claims.get("typ") not in allowed:
        raise Unauthenticated("wrong token type", code="invalid_token")
    return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The Principal a verified token stands for."""
    kind = "service" if claims.get("typ") == "service" else "user"
    return Principal(subject=str(claims["sub"]), tenant=claims.get("tenant"),
                     role=claims.get("role"), kind=kind, token_id=claims.get("jti"),
                     claims=claims)


async def revoke(redis: Redis, claims: dict[str, Any]) -> None:
    """Add a token's id to the revocation list until its own expiry."""
    ttl = max(1, int(claims["exp"]) - int(time.time()))
    await redis.set(REVOKED_PREFIX + str(claims["jti"]), "1", ex=ttl)


async def is_revoked(redis: Redis, jti: str) -> bool:
    """True if the token id was revoked."""
    return bool(await redis.exists(REVOKED_PREFIX + jti))


async def disable_subject(redis: Redis, subject: str, ttl: int) -> None:
    """Refuse every token of ``subject`` for ``ttl`` seconds (a deactivated user)."""
    await redis.set(DISABLED_PREFIX + subject, "1", ex=max(1, ttl))


async def authenticate(token: str, redis: Redis | None) -> Principal:
    """Verify a bearer token (access or service) and check the revocation list."""
    claims = decode_token(token)
    if redis is not None and await redis.exists(
        REVOKED_PREFIX + str(claims["jti"]), DISABLED_PREFIX + str(claims["sub"])
    ):
        raise Unauthenticated("token revoked", code="token_revoked")
    return principal_from_claims(claims)

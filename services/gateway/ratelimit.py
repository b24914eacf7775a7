"""Rate limits per user and per tenant, in Redis (fixed one-minute windows).

A window's counter is one INCR with an expiry, so every gateway replica shares
it; the first request of a window sets the TTL. Over the limit, the answer is
429 with ``Retry-After`` = the seconds left in the window.

An authenticated request pays one Redis round trip for everything: :func:`admit`
runs the revocation check and both counters in one server-side script, in the
order the steps would run one by one (revoked → 401 and nothing counted; over
the user's limit → 429 and the tenant's counter untouched).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.kit.auth import DISABLED_PREFIX, REVOKED_PREFIX
from services.kit.errors import ResourceExhausted, Unauthenticated

WINDOW = 60

# KEYS: revoked-jti, disabled-subject, user counter[, tenant counter]
# ARGV: ttl, user limit[, tenant limit]
# Returns 0 (admitted), -1 (revoked), -2 (user limit), -3 (tenant limit).
_ADMIT = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return -1 end
local n = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[1])
if n > tonumber(ARGV[2]) then return -2 end
if KEYS[4] then
  n = redis.call('INCR', KEYS[4])
  redis.call('EXPIRE', KEYS[4], ARGV[1])
  if n > tonumber(ARGV[3]) then return -3 end
end
return 0
"""


def _exhausted(limit: int) -> ResourceExhausted:
    retry = WINDOW - int(time.time()) % WINDOW
    return ResourceExhausted(f"rate limit of {limit} requests a minute exceeded",
                             code="rate_limited", retry_after=retry)


async def hit(redis: Redis, key: str, limit: int) -> None:
    """Count one request against ``key``; RESOURCE_EXHAUSTED past ``limit`` per minute."""
    window = int(time.time()) // WINDOW
    full = f"{key}:{window}"
    pipe = redis.pipeline(transaction=True)
    pipe.incr(full)
    pipe.expire(full, WINDOW + 1)
    count, _ = await pipe.execute()
    if int(count) > limit:
        raise _exhausted(limit)


class Admission:
    """The revocation check and the user/tenant counters of one request, in one round trip."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_ADMIT)

    async def admit(self, claims: dict[str, object], user_key: str, user_limit: int,
                    tenant_key: str | None, tenant_limit: int) -> None:
        """UNAUTHENTICATED if the token (or its subject) is revoked, else count the request
        against the user's and then the tenant's window; RESOURCE_EXHAUSTED past a limit."""
        window = int(time.time()) // WINDOW
        keys = [REVOKED_PREFIX + str(claims["jti"]), DISABLED_PREFIX + str(claims["sub"]),
                f"{user_key}:{window}"]
        args: list[int] = [WINDOW + 1, user_limit]
        if tenant_key is not None:
            keys.append(f"{tenant_key}:{window}")
            args.append(tenant_limit)
        outcome = int(await self._script(keys=keys, args=args))
        if outcome == -1:
            raise Unauthenticated("token revoked", code="token_revoked")
        if outcome == -2:
            raise _exhausted(user_limit)
        if outcome == -3:
            raise _exhausted(tenant_limit)

"""``tenantry serve analytics``: the analytics API and its bus consumer (group "analytics")."""

from __future__ import annotations

from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc

from services.kit.service import Runtime

from .cache import AnalyticsSettings, ResultCache
from .grpc import SERVICE, AnalyticsServicer
from .ingest import CONSUMER, Aggregator
from .queries import Analytics

DEFAULT_PORT = 50053
__all__ = ["DEFAULT_PORT", "build"]


def build(rt: Runtime) -> None:
    """Serve AnalyticsService and consume the moderation topics into the aggregates.

    Query results are cached in Redis for ``ANALYTICS_CACHE_TTL_SECONDS`` (0: not cached);
    the consumer invalidates a tenant's entries after every event it applied.
    """
    cache = ResultCache(rt.redis, AnalyticsSettings().analytics_cache_ttl_seconds)
    rt.add_servicer(pb_grpc.add_AnalyticsServiceServicer_to_server,
                    AnalyticsServicer(Analytics(rt.db, cache=cache)), SERVICE)
    rt.consume(CONSUMER, Aggregator(rt.db, cache).handlers(), app="analytics")

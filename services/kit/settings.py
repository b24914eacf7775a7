"""Settings from the environment (pydantic-settings), shared by every process."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of a Tenantry process. Every field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/tenantry",
        description="PostgreSQL URL (postgresql:// or postgresql+asyncpg://).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL.")
    jwt_secret: SecretStr = Field(
        SecretStr("dev-insecure-secret-change-me-0123456789"),
        description="HMAC key for access, refresh and service tokens.",
    )
    jwt_issuer: str = "tenantry"
    jwt_algorithm: str = "HS256"
    jwt_access_ttl_seconds: int = Field(900, ge=30)
    jwt_refresh_ttl_seconds: int = Field(30 * 24 * 3600, ge=60)
    jwt_service_ttl_seconds: int = Field(300, ge=30)

    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    grpc_host: str = "0.0.0.0"
    grpc_port: int = 0
    http_port: int = 8080
    metrics_port: int = 9464
    shutdown_grace_seconds: float = 10.0

    identity_addr: str = "127.0.0.1:50051"
    notification_addr: str = "127.0.0.1:50052"
    analytics_addr: str = "127.0.0.1:50053"
    moderation_addr: str = "127.0.0.1:50054"
    telegram_addr: str = "127.0.0.1:50055"

    telegram_api_base: str = "https://api.telegram.org"

    rate_limit_user_per_minute: int = Field(600, ge=1)
    rate_limit_tenant_per_minute: int = Field(6000, ge=1)
    cors_origins: list[str] = Field(default_factory=list)

    outbox_poll_interval_seconds: float = 0.2
    outbox_relay_batch: int = Field(1000, ge=1)
    bus_max_deliveries: int = Field(5, ge=1)
    bus_claim_idle_ms: int = Field(30_000, ge=100)

    @property
    def async_database_url(self) -> str:
        """The database URL with the asyncpg driver, whatever scheme was configured."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix):]
        return url

    @property
    def plain_database_url(self) -> str:
        """The database URL as libpq/asyncpg spell it (no SQLAlchemy driver suffix)."""
        return self.async_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests and the dev runner change the environment)."""
    get_settings.cache_clear()

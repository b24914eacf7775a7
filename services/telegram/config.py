"""Settings of the Telegram adapter and the per-tenant bot tokens.

Tokens: ``TELEGRAM_BOT_TOKENS`` ("tenant=token,tenant2=token2", what the operator
renders from each Tenant's secret reference), else ``TELEGRAM_BOT_TOKEN`` for
every tenant (local use). The webhook secret of a tenant is
``TELEGRAM_WEBHOOK_SECRET`` or, when unset, derived from its bot token, so each
bot gets its own and no extra secret has to be configured.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.telegram_api import BotTokenMissing


class TelegramSettings(BaseSettings):
    """Every field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_bot_tokens: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str = ""  # public base URL; setWebhook is called when set
    telegram_webhook_host: str = "0.0.0.0"
    telegram_webhook_port: int = 8081
    telegram_mode: str = Field("webhook", pattern="^(webhook|polling)$")
    telegram_commands_per_minute: int = Field(30, ge=1)
    telegram_admin_cache_seconds: int = Field(300, ge=1)

    def tokens(self) -> dict[str, str]:
        """tenant → bot token from TELEGRAM_BOT_TOKENS."""
        raw = self.telegram_bot_tokens.get_secret_value() if self.telegram_bot_tokens else ""
        pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
        return {tenant.strip(): token.strip() for tenant, token in pairs if token.strip()}

    def token_for(self, tenant: str) -> str:
        """The bot token of ``tenant``; BotTokenMissing when none is configured."""
        token = self.tokens().get(tenant) or (
            self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else "")
        if not token:
            raise BotTokenMissing(f"no Telegram bot token configured for tenant {tenant!r}")
        return token

    def webhook_secret_for(self, tenant: str) -> str:
        """The X-Telegram-Bot-Api-Secret-Token expected on ``tenant``'s webhook."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret.get_secret_value()
        key = self.token_for(tenant).encode()
        return hmac.new(key, f"webhook:{tenant}".encode(), hashlib.sha256).hexdigest()

"""Settings of the notification service (environment variables, like the kit's)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .channels import SmtpConfig


class NotificationSettings(BaseSettings):
    """SMTP, webhook and delivery-loop knobs; every field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "tenantry@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_timeout_seconds: float = 5.0
    notification_poll_interval_seconds: float = Field(1.0, gt=0)
    notifications_per_user_per_minute: int = Field(20, ge=1)

    def smtp(self) -> SmtpConfig:
        """The SMTP client configuration."""
        return SmtpConfig(host=self.smtp_host, port=self.smtp_port, sender=self.smtp_from,
                          username=self.smtp_username,
                          password=self.smtp_password.get_secret_value()
                          if self.smtp_password else None,
                          start_tls=self.smtp_starttls)

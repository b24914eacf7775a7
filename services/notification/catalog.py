"""Templates and preferences as the API shows them (domain side, no transport)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import NotFound, Validator

from . import store
from .preferences import Preferences, parse_hhmm, validate_preferences
from .templates import DEFAULT_TEMPLATES, LANGUAGES, PLACEHOLDERS, template_errors


@dataclass
class TemplateView:
    """A template with the tenant's changes applied."""

    id: str
    texts: dict[str, str]
    placeholders: tuple[str, ...]
    customized: bool
    updated_at: datetime | None


async def list_templates(session: AsyncSession) -> list[TemplateView]:
    """Every template, defaults overlaid with the tenant's texts."""
    overrides = await store.template_overrides(session)
    views = []
    for template_id, defaults in DEFAULT_TEMPLATES.items():
        texts, stamps = {}, []
        for language in LANGUAGES:
            changed = overrides.get((template_id, language))
            texts[language] = changed[0] if changed else defaults[language]
            if changed:
                stamps.append(changed[1])
        views.append(TemplateView(template_id, texts, PLACEHOLDERS[template_id], bool(stamps),
                                  max(stamps) if stamps else None))
    return views


def validate_template_update(template_id: str, texts: dict[str, str]) -> None:
    """NOT_FOUND for an unknown template; INVALID_ARGUMENT for bad languages or placeholders."""
    if template_id not in DEFAULT_TEMPLATES:
        raise NotFound(f"template {template_id!r} not found", code="template_not_found")
    v = Validator()
    v.require(bool(texts), "texts", "give at least one language's text")
    for language, body in texts.items():
        field = f"texts[{language}]"
        if v.require(language in LANGUAGES, field, f"language must be one of {', '.join(LANGUAGES)}"):
            v.violations += template_errors(template_id, body, field)
    v.raise_if_any()


async def update_template(session: AsyncSession, template_id: str,
                          texts: dict[str, str]) -> TemplateView:
    """Validate, store (an empty text restores the default), return the template."""
    validate_template_update(template_id, texts)
    for language, body in texts.items():
        await store.set_template_text(session, template_id, language, body or None)
    return next(t for t in await list_templates(session) if t.id == template_id)


@dataclass
class PreferencesUpdate:
    """A full replacement of a user's preferences (webhook_secret None keeps the old one)."""

    user_id: int
    enabled_types: list[str]
    quiet_hours_start: str
    quiet_hours_end: str
    digest_mode: bool
    digest_interval_hours: int
    timezone: str
    language: str
    channels: list[str]
    email: str
    webhook_url: str
    webhook_secret: str | None


async def update_preferences(session: AsyncSession, update: PreferencesUpdate) -> Preferences:
    """Validate and store; INVALID_ARGUMENT (nothing written) on any bad field."""
    current, _ = await store.load_preferences(session, update.user_id)
    v = Validator()
    v.require(update.user_id > 0, "user_id", "must be a positive user id")
    validate_preferences(
        v, enabled_types=update.enabled_types, quiet_start=update.quiet_hours_start,
        quiet_end=update.quiet_hours_end, digest_interval_hours=update.digest_interval_hours,
        timezone=update.timezone, language=update.language, channels=update.channels,
        email=update.email, webhook_url=update.webhook_url, webhook_secret=update.webhook_secret,
        has_secret=bool(current.webhook_secret))
    v.raise_if_any()
    prefs = Preferences(
        user_id=update.user_id, enabled_types=sorted(set(update.enabled_types)),
        quiet_hours_start=parse_hhmm(update.quiet_hours_start),
        quiet_hours_end=parse_hhmm(update.quiet_hours_end), digest_mode=update.digest_mode,
        digest_interval_hours=update.digest_interval_hours, timezone=update.timezone,
        language=update.language, channels=list(dict.fromkeys(update.channels)),
        email=update.email or None, webhook_url=update.webhook_url or None,
        webhook_secret=update.webhook_secret if update.webhook_secret is not None
        else current.webhook_secret)
    await store.save_preferences(session, prefs)
    return prefs

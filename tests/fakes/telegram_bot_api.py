"""Moved to :mod:`services.telegram_api.fake` (the dev runner uses it too); re-exported for tests."""
from services.telegram_api.fake import BOT_ID, Call, FakeBotApi, FakeChat  # noqa: F401

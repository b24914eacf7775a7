"""``tenantry serve moderation``: the ban-sync app's API (seed 001 §2-§5).

One process serves the app's areas — users and chats, subscriptions, ban
events, and the sync API — on one port, and relays the app's outbox. The sync
engine itself runs in the separately scaled ``sync-worker`` process.
"""

from __future__ import annotations

import importlib

from services.kit.service import Runtime

DEFAULT_PORT = 50054
AREAS = ("users", "subscriptions", "ban_events", "sync")


def build(rt: Runtime) -> None:
    """Wire every area of the moderation app and its outbox relay."""
    for area in AREAS:
        module = importlib.import_module(f"services.moderation.{area}.grpc")
        module.register(rt)
        if hasattr(module, "register_background"):
            module.register_background(rt)
    rt.relay("moderation")

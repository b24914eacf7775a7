"""The moderation app (seed 001): the Telegram ban-sync network."""

"""Subscriptions of the moderation app (seed 001 §2): admins' chats tracking users."""

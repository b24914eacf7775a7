"""The notification service: templates, channels, preferences, quiet hours, digests, limits."""

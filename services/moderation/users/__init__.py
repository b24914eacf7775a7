"""Users, admins, user settings and chat settings of the moderation app (seed 001 §3)."""

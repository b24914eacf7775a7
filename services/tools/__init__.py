"""Small operator tools that ship with the platform."""

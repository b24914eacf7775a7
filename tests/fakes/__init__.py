"""Local fake servers that speak the real wire formats of external services."""

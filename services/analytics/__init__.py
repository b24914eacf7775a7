"""The analytics platform service (seed 001 §7): bus events → per-day aggregates → KPIs and timelines."""

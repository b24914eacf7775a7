"""The event bus on Redis Streams: outbox, relay, consumer groups, dead letters."""

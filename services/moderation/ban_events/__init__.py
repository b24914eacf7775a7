"""Ban events (seed 001 §4): registration with dedupe, history, search, bulk load, retention.

Domain modules: :mod:`.model` (types and limits), :mod:`.validation`,
:mod:`.store` (SQL), :mod:`.events` (bus payloads), :mod:`.service` (the use
cases), :mod:`.retention` (archiving). :mod:`.grpc` is the thin transport adapter.
"""

"""Ban sync (seed 001 §5): fan a ban event out to the chats that should get it.

Plain domain modules (no transport): :mod:`.models` (records), :mod:`.rules`
(SyncPolicy specs and chat settings → what to do where), :mod:`.store` (SQL on
``sync_runs`` / ``sync_logs``), :mod:`.engine` (the fan-out), :mod:`.worker`
(consumer + sweeper). :mod:`.grpc` is the thin gRPC adapter.
"""

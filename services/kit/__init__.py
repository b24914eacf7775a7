"""The service kit: every cross-cutting concern of a Tenantry service, once.

Config, logging, metrics, tracing, auth, tenancy, database, migrations, the
event bus and the gRPC server/client bootstraps live here so that a service is
mostly its domain code.
"""

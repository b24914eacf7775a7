"""The gateway: the REST/JSON face of the gRPC services, derived from their protos."""

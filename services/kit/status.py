"""Mapping between domain errors and gRPC status with google.rpc error details.

Over gRPC an error is a ``google.rpc.Status`` whose details hold an
``ErrorInfo`` (``reason`` = the stable error code) and, for bad input, a
``BadRequest`` with the field violations. The gateway decodes the same
structure into its JSON error body.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .errors import FieldViolation, ServiceError

DOMAIN = "tenantry.dev"


def to_rpc_status(error: ServiceError) -> grpc.Status:
    """A grpc.Status (code, message, trailing details) for a domain error."""
    code = getattr(code_pb2, error.grpc_code_name)
    details = []
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=DOMAIN)
    if error.retry_after is not None:
        info.metadata["retry_after"] = str(int(error.retry_after + 0.999))
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    violations = getattr(error, "violations", None)
    if violations:
        bad = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in violations
        ])
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=details))


@dataclass
class DecodedStatus:
    """What a client learns from a failed call."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: list[FieldViolation]
    retry_after: int | None


def decode_error(err: grpc.RpcError) -> DecodedStatus:
    """Read code, message, reason and field violations off a failed call."""
    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    message = err.details() if callable(getattr(err, "details", None)) else str(err)
    reason = code.name.lower()
    violations: list[FieldViolation] = []
    retry_after: int | None = None
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except Exception:  # malformed or missing details: keep the plain code
        status = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason or reason
                if "retry_after" in info.metadata:
                    retry_after = int(info.metadata["retry_after"])
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return DecodedStatus(code, message or "", reason, violations, retry_after)

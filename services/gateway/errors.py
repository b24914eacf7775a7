"""gRPC status → HTTP, with a stable JSON error body and never a trace."""

from __future__ import annotations

import grpc
from fastapi.responses import JSONResponse

from services.kit import context
from services.kit.errors import ServiceError
from services.kit.status import DecodedStatus, decode_error

HTTP_OF = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.CANCELLED: 499,
}


def error_response(status: DecodedStatus) -> JSONResponse:
    """The HTTP response for a failed call."""
    http = HTTP_OF.get(status.code, 500)
    message = status.message if http != 500 else "internal error"
    body = {"error": {
        "code": status.reason if http != 500 else "internal",
        "message": message,
        "status": status.code.name,
        "fields": [{"field": v.field, "description": v.description} for v in status.violations],
        "request_id": context.request_id(),
    }}
    headers = {"X-Request-ID": context.request_id()}
    if http == 429:
        headers["Retry-After"] = str(status.retry_after or 1)
    return JSONResponse(body, status_code=http, headers=headers)


def from_rpc_error(err: grpc.RpcError) -> JSONResponse:
    """Map a failed gRPC call."""
    return error_response(decode_error(err))


def from_service_error(err: ServiceError) -> JSONResponse:
    """Map an error raised in the gateway itself (binding, auth, rate limit)."""
    code = getattr(grpc.StatusCode, err.grpc_code_name)
    return error_response(DecodedStatus(code, err.message, err.code,
                                        list(getattr(err, "violations", [])),
                                        int(err.retry_after + 0.999) if err.retry_after else None))

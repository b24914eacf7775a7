"""The OpenAPI document, generated from the same routes and message descriptors."""

from __future__ import annotations

from typing import Any

from .jsonmap import message_schema
from .routes import Route, success_status

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "string"},
        "request_id": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "description": {"type": "string"}}}},
    }}},
}
_ERROR_CODES = {"401": "Unauthenticated", "403": "Permission denied", "404": "Not found",
                "409": "Already exists", "422": "Invalid input (with the offending fields)",
                "429": "Rate limited (see Retry-After)", "503": "Backend unavailable",
                "504": "Backend deadline exceeded"}


def build_openapi(routes: list[Route], *, title: str, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document for ``routes``."""
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for route in routes:
        request_name = message_schema(route.method.input_type, components)
        response_name = message_schema(route.method.output_type, components)
        params = [{"name": p.replace(".", "__"), "in": "path", "required": True,
                   "schema": components[request_name]["properties"].get(p.split(".")[0], {"type": "string"})}
                  for p in route.params]
        if not route.body:
            for name, schema in components[request_name]["properties"].items():
                if name in route.params:
                    continue
                if "$ref" in schema and name == "page":
                    params += [{"name": "page_size", "in": "query", "schema": {"type": "integer"}},
                               {"name": "page_token", "in": "query", "schema": {"type": "string"}}]
                elif "$ref" not in schema:
                    params.append({"name": name, "in": "query", "schema": schema})
        reply = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{response_name}"}}}}
        status, created_field = success_status(route)
        success: dict[str, Any] = {str(status): {"description": "Created" if status == 201 else "OK", **reply}}
        if created_field:
            success["200"] = {"description": f"It already existed: the existing object, {created_field} false",
                              **reply}
        op: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": f"{route.service.name}.{route.method.name}",
            "tags": [route.base.strip("/") or route.service.name.removesuffix("Service").lower()],
            "parameters": params,
            "responses": {**success,
                **{code: {"description": text, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in _ERROR_CODES.items()}},
            "security": [{"bearer": []}],
        }
        if route.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_name}"}}}}
        paths.setdefault(route.path.replace("__", "."), {})[route.verb.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "REST/JSON face of Tenantry's gRPC services, derived from their protos."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }

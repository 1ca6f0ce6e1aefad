"""The OpenAPI document tells the truth about errors: every 4xx is {"error", "detail"}
(interfaces/errors.py), not FastAPI's default validation shape, and every operation lists the
statuses the shared mechanism can answer. New routes get this without doing anything."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "the error type, e.g. NotFound"},
        "detail": {"type": "string", "description": "what went wrong, for people"},
    },
    "additionalProperties": False,
}
DESCRIPTIONS = {
    "400": "Malformed request (body not JSON, odd header, body ended early)",
    "401": "Not logged in, or the session ended",
    "403": "Logged in, but not allowed (or no CSRF header on a cookie write)",
    "404": "No such object (also another candidate's attempt)",
    "408": "The request body did not arrive in time",
    "409": "The object's state forbids this, or another writer won",
    "413": "Body over its cap",
    "415": "Body of a type this route does not take",
    "422": "Well-formed, but invalid input",
    "429": "Too many requests; see Retry-After",
}
BODY_ONLY = {"408", "413", "415"}
ATTEMPT = {"attempt_id": "$response.body#/attemptId"}
# OpenAPI links: which answer's id feeds which next call (clients and schemathesis' stateful
# runs follow them): an exam's id starts an attempt; an attempt's id reaches everything about it.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("/api/exams", "post", "201"): {
        "StartAttempt": ("/api/exams/{exam_id}/attempts", "post", {"exam_id": "$response.body#/id"}),
    },
    ("/api/exams/{exam_id}/attempts", "post", "200"): {
        "GetAttempt": ("/api/attempts/{attempt_id}", "get", ATTEMPT),
        "SaveAnswer": ("/api/attempts/{attempt_id}/answers/{question_id}", "put", ATTEMPT),
        "Submit": ("/api/attempts/{attempt_id}/submit", "post", ATTEMPT),
        "ForceEnd": ("/api/attempt-control/{attempt_id}/force-end", "post", ATTEMPT),
        "ClientEvent": ("/api/Proctor/event/{attempt_id}", "post", ATTEMPT),
        "SessionDetail": ("/api/Proctor/sessions/{attempt_id}", "get", ATTEMPT),
        "Flag": ("/api/Proctor/sessions/{attempt_id}/flag", "post", ATTEMPT),
        "Warn": ("/api/Proctor/sessions/{attempt_id}/warn", "post", ATTEMPT),
        "Timeline": ("/api/Proctor/timeline/{attempt_id}", "get", ATTEMPT),
        "ChunkStatus": ("/api/Proctor/video-chunk/{attempt_id}/status", "get", ATTEMPT),
        "Recording": ("/api/Proctor/recording/{attempt_id}", "get", ATTEMPT),
    },
}


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if code == "429":
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return response


def describe_errors(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            has_body = "requestBody" in operation or method in ("post", "put", "patch")
            for code in DESCRIPTIONS:
                if code in BODY_ONLY and not has_body:
                    continue
                operation["responses"][code] = _error_response(code)
    return document


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    paths = document.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationRef": _ref(target, target_method), "parameters": parameters}
            for name, (target, target_method, parameters) in links.items()
            if target_method in paths.get(target, {})
        }
    return document


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            app.openapi_schema = add_links(describe_errors(document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

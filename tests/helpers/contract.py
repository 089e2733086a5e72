"""Validate HTTP responses against Qdrant's OpenAPI contract (operation by method + path template)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_PATH = (REPO_ROOT / ".." / "shared" / "contract" / "qdrant-openapi-1.19.json").resolve()
SPEC_URI = "urn:qdrant-openapi-1.19"


class ContractViolation(AssertionError):
    """A response does not match the contract (or the contract has no such operation)."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    if not CONTRACT_PATH.is_file():
        raise FileNotFoundError(f"contract not found at {CONTRACT_PATH} (expected ../shared beside the repo)")
    with open(CONTRACT_PATH) as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT4)
    return Registry().with_resource(SPEC_URI, resource)


@lru_cache(maxsize=1)
def _path_patterns() -> list[tuple[int, re.Pattern[str], str]]:
    """Path templates as regexes, literal-heavy first so /collections/aliases beats {collection_name}."""
    out = []
    for template in load_spec()["paths"]:
        params = template.count("{")
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        out.append((params, re.compile(regex), template))
    out.sort(key=lambda item: item[0])
    return out


def find_operation(method: str, path: str) -> Operation:
    """The contract operation for a concrete path, e.g. ("GET", "/collections/x/points/1")."""
    method = method.lower()
    path = path.split("?", 1)[0]
    paths = load_spec()["paths"]
    for _, pattern, template in _path_patterns():
        if pattern.match(path) and method in paths[template]:
            return Operation(method, template, paths[template][method])
    raise ContractViolation(f"no operation {method.upper()} {path} in the contract")


def _pointer(*parts: str) -> str:
    return "/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


@lru_cache(maxsize=None)
def _validator(ref: str) -> OAS30Validator:
    return OAS30Validator({"$ref": ref}, registry=_registry(), format_checker=oas30_format_checker)


def validate_against(instance: Any, ref: str, what: str) -> None:
    error = best_match(_validator(ref).iter_errors(instance))
    if error is not None:
        location = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ContractViolation(f"{what}: at {location}: {error.message}\nbody: {json.dumps(instance)[:2000]}")


def _response_key(responses: dict[str, Any], status: int) -> str | None:
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return key
    return None


def _is_envelope(schema: dict[str, Any]) -> bool:
    props = schema.get("properties", {})
    return {"result", "status", "time"} <= set(props)


def check_error_envelope(body: Any, what: str) -> None:
    """Qdrant's error shape: {"status": {"error": "<message>"}, "time": <seconds>}."""
    validate_against(body, f"{SPEC_URI}#/components/schemas/ErrorResponse", what)
    if not (isinstance(body, dict) and isinstance(body.get("status"), dict)
            and isinstance(body["status"].get("error"), str) and body["status"]["error"]):
        raise ContractViolation(f"{what}: error body lacks a non-empty status.error: {body!r}")
    if not isinstance(body.get("time"), (int, float)) or isinstance(body.get("time"), bool):
        raise ContractViolation(f"{what}: error body lacks a numeric time: {body!r}")


def validate_response(method: str, path: str, status: int, content_type: str, body_text: str) -> None:
    """Raise ContractViolation unless the response fits the contract's operation and status."""
    op = find_operation(method, path)
    what = f"{method.upper()} {path} -> {status} ({op.template})"
    media = content_type.split(";", 1)[0].strip().lower()
    if status >= 400:
        if media != "application/json":
            raise ContractViolation(f"{what}: error response must be application/json, got {content_type!r}: {body_text[:300]}")
        check_error_envelope(_parse_json(body_text, what), what)
        return
    key = _response_key(op.spec["responses"], status)
    if key is None:
        raise ContractViolation(f"{what}: status {status} is not documented for this operation")
    content = op.spec["responses"][key].get("content")
    if not content:
        return
    if media not in content:
        raise ContractViolation(f"{what}: content type {content_type!r} not in {sorted(content)}")
    schema = content[media]["schema"]
    ref = SPEC_URI + "#" + _pointer("paths", op.template, op.method, "responses", key, "content", media, "schema")
    if media == "application/json":
        body = _parse_json(body_text, what)
        validate_against(body, ref, what)
        if _is_envelope(schema):
            # The contract lists the envelope's fields without `required`; Qdrant always sends them.
            if not isinstance(body, dict) or body.get("status") != "ok" or "result" not in body:
                raise ContractViolation(f"{what}: success envelope needs status 'ok' and result: {body_text[:500]}")
            if not isinstance(body.get("time"), (int, float)) or isinstance(body.get("time"), bool):
                raise ContractViolation(f"{what}: success envelope needs a numeric time: {body_text[:500]}")
    else:
        validate_against(body_text, ref, what)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ContractViolation(f"{what}: body is not JSON ({exc}): {text[:300]!r}") from None

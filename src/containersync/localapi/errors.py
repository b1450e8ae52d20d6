"""Errors the local backend answers with, shaped like the live API's error envelope.

Every failure the store or the request validation detects is an ``ApiError`` carrying the
HTTP status and the four envelope fields (``message``, ``type``, ``param``, ``code``). The
ASGI app turns it into ``{"error": {...}}`` in one place (``app.py``); in-process callers
(the sandbox, ``local exec``) catch the subclasses. These are the backend's own errors and
deliberately live apart from ``containersync.errors``, which is the *client's* error tree.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP ``status`` plus the envelope fields."""

    status = 400
    error_type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 status: int | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type

    def envelope(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type,
                          "param": self.param, "code": self.code}}


class BadRequest(ApiError):
    """400: the request is malformed or a value is out of range."""

    status = 400


class Unauthorized(ApiError):
    """401: the API key is missing or wrong."""

    status = 401


class NotFound(ApiError):
    """404: the container, container file or file does not exist."""

    status = 404


class ContainerNotFound(NotFound):
    """404 for a container id that is unknown (or deleted)."""

    def __init__(self, container_id: str) -> None:
        super().__init__(f"Container with id '{container_id}' not found.")
        self.container_id = container_id


class ContainerExpired(NotFound):
    """404 for a file call on an expired container (the container itself still exists)."""

    def __init__(self, container_id: str) -> None:
        super().__init__("Container is expired.")
        self.container_id = container_id


def missing(param: str) -> BadRequest:
    return BadRequest(f"Missing required parameter: '{param}'.", param=param,
                      code="missing_required_parameter")


def invalid_type(param: str, expected: str, got: object) -> BadRequest:
    return BadRequest(
        f"Invalid type for '{param}': expected {expected}, but got {type(got).__name__} instead.",
        param=param, code="invalid_type")


def invalid_value(param: str, got: object, allowed: tuple[str, ...] | None = None) -> BadRequest:
    text = f"Invalid value for '{param}': {got!r}."
    if allowed:
        text += " Supported values are: " + ", ".join(repr(a) for a in allowed) + "."
    return BadRequest(text, param=param, code="invalid_value")


def above_max(param: str, maximum: int, got: int) -> BadRequest:
    return BadRequest(
        f"Invalid '{param}': integer above maximum value. Expected a value <= {maximum}, "
        f"but got {got} instead.", param=param, code="integer_above_max_value")


def below_min(param: str, minimum: int, got: int) -> BadRequest:
    return BadRequest(
        f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
        f"but got {got} instead.", param=param, code="integer_below_min_value")

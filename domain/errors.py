"""The one error hierarchy. Interfaces map each class to an HTTP status in one place."""


class SmartExamError(Exception):
    """Base of every error the product raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(SmartExamError):
    """Well-formed request, semantically wrong (422)."""


class BadRequest(SmartExamError):
    """Malformed request (400)."""


class NotAuthenticated(SmartExamError):
    """No or invalid credentials (401)."""


class PermissionDenied(SmartExamError):
    """Authenticated, but not allowed to touch this object (403)."""


class NotFound(SmartExamError):
    """Unknown id (404)."""


class Conflict(SmartExamError):
    """The object's state forbids this command, or another writer won (409)."""


class Gone(SmartExamError):
    """The object existed but can no longer accept this (410)."""


class PayloadTooLarge(SmartExamError):
    """Body over the configured cap (413)."""


class UnsupportedMediaType(SmartExamError):
    """Body is not of an accepted type (415)."""


class RateLimited(SmartExamError):
    """Too many requests (429); `retry_after` seconds become the Retry-After header."""

    def __init__(self, detail: str, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = max(int(retry_after), 1)


class Unavailable(SmartExamError):
    """The feature is turned off on this server, or it cannot serve now (503)."""

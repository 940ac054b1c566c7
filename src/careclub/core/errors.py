"""Errors the services raise, and their one mapping to HTTP (`{"error": {"code", "message"}}`)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A refusal a user can act on. `code` is stable snake_case; `message` is for people.

    A message with variable parts is a constant template plus `params`
    (`ValidationFailed("the slug %(slug)s is reserved", params={"slug": slug})`): the API gets the filled-in
    English, a page translates the template and fills it in afterwards, so what someone typed never passes
    through gettext. `tests/unit/test_error_messages.py` refuses f-strings here."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 field: str | None = None, extra: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.template = message
        self.params = params or {}
        if self.params:
            message = message % self.params
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.field = field
        self.extra = extra or {}


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_failed"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(message, params=params)
        self.retry_after = retry_after


class FieldErrors(ValidationFailed):
    """Several fields at fault, reported together so a form shows every problem at once. The API
    body keeps the first as `field` and lists them all under `error.fields`."""

    def __init__(self, errors: list[AppError]) -> None:
        assert errors, "FieldErrors needs at least one error"
        first = errors[0]
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors),
                         code=first.code if len(errors) == 1 else "validation_failed",
                         status_code=max(e.status_code for e in errors), field=first.field)
        self.errors = errors


class Problems:
    """Collects field errors: each `check` runs one validation and keeps its error instead of raising,
    `done()` raises them all together (one error as itself).

        problems = Problems()
        email = problems.check(rules.check_email, email)
        problems.check(check_password_strength, password)
        problems.done()
    """

    def __init__(self) -> None:
        self.errors: list[AppError] = []

    def check(self, validate: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return validate(*args, **kwargs)
        except FieldErrors as exc:
            self.errors.extend(exc.errors)
        except AppError as exc:
            if exc.field is None:  # not about one field: nothing else is worth checking
                raise
            self.errors.append(exc)
        return None

    def add(self, error: AppError) -> None:
        self.errors.append(error)

    def done(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise FieldErrors(self.errors)


def each_error(exc: AppError) -> list[AppError]:
    """The single errors inside `exc` (itself unless it is a FieldErrors)."""
    return list(exc.errors) if isinstance(exc, FieldErrors) else [exc]


class NoTenantContext(RuntimeError):
    """Tenant data was touched with no tenant set: a programming error, never user input."""

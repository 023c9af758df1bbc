"""How the API looks from here: ok, unreachable, unauthorized, forbidden or not configured, and since when."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from n9s.sources.errors import PermissionDenied, SourceError, Unreachable
from n9s.sources.kube_config import ConfigInvalid, NotConfigured

OK = "ok"
UNREACHABLE = "unreachable"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_CONFIGURED = "not_configured"


class Unauthorized(PermissionDenied):
    """The API server did not accept our credentials (HTTP 401)."""


class Forbidden(PermissionDenied):
    """The credentials are valid, RBAC does not allow this call (HTTP 403)."""

    def __init__(self, message: str, *, action: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.action = action


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _clock_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


@dataclass(frozen=True)
class ApiHealth:
    """The API's state as the user sees it. `message` is the header text; `detail` says why."""

    state: str  # ok | unreachable | unauthorized | forbidden | not_configured
    since: datetime
    message: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == OK

    @classmethod
    def healthy(cls, since: datetime | None = None) -> ApiHealth:
        return cls(OK, since or _now(), "API: ok")

    @classmethod
    def unreachable(cls, since: datetime, detail: str = "") -> ApiHealth:
        return cls(UNREACHABLE, since, f"API: unreachable since {_clock_text(since)}, retrying", detail)

    @classmethod
    def unauthorized(cls, since: datetime, detail: str = "") -> ApiHealth:
        return cls(UNAUTHORIZED, since, "API: unauthorized (401): check the kubeconfig credentials", detail)

    @classmethod
    def forbidden(cls, since: datetime, action: str, detail: str = "") -> ApiHealth:
        return cls(FORBIDDEN, since, f"API: forbidden to {action}: RBAC", detail)

    @classmethod
    def not_configured(cls, error: SourceError | None = None, since: datetime | None = None) -> ApiHealth:
        """From resolve_target's NotConfigured (no kubeconfig at all) or ConfigInvalid (a broken one)."""
        if isinstance(error, ConfigInvalid):
            return cls(NOT_CONFIGURED, since or _now(), f"API: {error.message}", error.hint)
        return cls(NOT_CONFIGURED, since or _now(), "API: no kubeconfig found", error.hint if error else "")


class HealthTracker:
    """Thread-safe record of the current ApiHealth, fed by every API call.

    Unreachable and unauthorized are about the connection, so any call may report them and any
    successful call clears them. Forbidden is about one permission, so only the calls the pod view
    depends on ("core" calls: list and watch pods) set or clear it; a forbidden events list or
    node read raises its error to the caller and leaves the header alone.
    """

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._health = ApiHealth.healthy(clock())

    @property
    def current(self) -> ApiHealth:
        with self._lock:
            return self._health

    def succeeded(self, *, core: bool) -> ApiHealth:
        with self._lock:
            if self._health.state != OK and (core or self._health.state in (UNREACHABLE, UNAUTHORIZED)):
                self._health = ApiHealth.healthy(self._clock())
            return self._health

    def failed(self, error: SourceError, *, core: bool) -> ApiHealth:
        with self._lock:
            now = self._clock()
            old = self._health
            if isinstance(error, Unreachable):
                since = old.since if old.state == UNREACHABLE else now
                self._health = ApiHealth.unreachable(since, str(error))
            elif isinstance(error, Unauthorized):
                since = old.since if old.state == UNAUTHORIZED else now
                self._health = ApiHealth.unauthorized(since, str(error))
            elif isinstance(error, (ConfigInvalid, NotConfigured)):
                self._health = ApiHealth.not_configured(error, old.since if old.state == NOT_CONFIGURED else now)
            elif isinstance(error, Forbidden) and core:
                since = old.since if old.state == FORBIDDEN else now
                self._health = ApiHealth.forbidden(since, error.action, str(error))
            return self._health


"""How the API looks from here: ok, unreachable, not answering, answering other than JSON, unauthorized, forbidden or
not configured, and since when."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from n9s.sources.errors import CallFailed, NotAnswering, PermissionDenied, SourceError, Unreachable
from n9s.sources.kube.config import ConfigInvalid, NotConfigured

OK = "ok"
UNREACHABLE = "unreachable"
NOT_ANSWERING = "not_answering"  # it took the request and sent nothing back in time (hung, frozen)
NOT_JSON = "not_json"  # it answers, but not as an API server does (a web server, a proxy's login page)
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_CONFIGURED = "not_configured"


class Unauthorized(PermissionDenied):
    """The API server did not accept our credentials (HTTP 401)."""


class NotJson(CallFailed):
    """The server answered something that is not JSON: whatever it is, it is not a Kubernetes API server."""

    def __init__(self, message: str, *, server: str, content_type: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.server = server
        self.content_type = content_type


class Forbidden(PermissionDenied):
    """The credentials are valid, RBAC does not allow this call (HTTP 403)."""

    def __init__(self, message: str, *, action: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.action = action


_ABOUT_THE_CONNECTION = (UNREACHABLE, NOT_ANSWERING, NOT_JSON, UNAUTHORIZED)


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
    def not_answering(cls, since: datetime, detail: str = "") -> ApiHealth:
        """The message says since when; ApiSide's snapshot says for how long."""
        return cls(NOT_ANSWERING, since, f"API: not answering since {_clock_text(since)}", detail)

    @classmethod
    def not_json(cls, since: datetime, server: str, content_type: str = "", detail: str = "") -> ApiHealth:
        what = f"{content_type} from {server}" if content_type else f"from {server}"
        return cls(NOT_JSON, since, f"API: answers are not JSON ({what}): is the server an API server?", detail)

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

    Unreachable, not answering, not JSON and unauthorized are about the connection, so any call may
    report them and any successful call clears them. Forbidden is about one permission, so only the calls the pod view
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
            if self._health.state != OK and (core or self._health.state in _ABOUT_THE_CONNECTION):
                self._health = ApiHealth.healthy(self._clock())
            return self._health

    def failed(self, error: SourceError, *, core: bool) -> ApiHealth:
        with self._lock:
            now = self._clock()
            old = self._health
            if isinstance(error, NotAnswering):
                # Since the request that got no answer was sent, not since its timeout ran out.
                waited = timedelta(seconds=max(0.0, error.waited_s))
                since = old.since if old.state == NOT_ANSWERING else now - waited
                self._health = ApiHealth.not_answering(since, str(error))
            elif isinstance(error, NotJson):
                since = old.since if old.state == NOT_JSON else now
                self._health = ApiHealth.not_json(since, error.server, error.content_type, str(error))
            elif isinstance(error, Unreachable):
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


"""The health of each source, as the parts of a refresh learn it."""
from __future__ import annotations

from typing import Callable

from n9s.model.picture import SourceHealth


class HealthBook:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._by_name: dict[str, SourceHealth] = {}

    def set(self, name: str, state: str, message: str = "", since: float | None = None) -> None:
        """``since``: when the state began, if known better than now; a state that goes on keeps its start."""
        old = self._by_name.get(name)
        if old is not None and old.state == state:
            since = old.since
        elif since is None:
            since = self._clock()
        self._by_name[name] = SourceHealth(name, state, message, since)

    def put(self, health: SourceHealth) -> None:
        self._by_name[health.name] = health

    def get(self, name: str) -> SourceHealth | None:
        return self._by_name.get(name)

    def all(self) -> tuple[SourceHealth, ...]:
        return tuple(self._by_name.values())

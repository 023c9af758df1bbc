"""The `:events` view: the node's and its pods' events from the API, newest first, warnings highlighted."""
from __future__ import annotations

from datetime import datetime

from n9s.model.picture import NodePicture
from n9s.core.sanitize import sanitize_label
from n9s.render import format as fmt
from n9s.render.table import Column, Row

EVENT_COLUMNS = (
    Column("LAST", numeric=True), Column("TYPE"), Column("REASON"), Column("OBJECT"), Column("COUNT", numeric=True),
    Column("MESSAGE"),
)


def _ns(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1e9) if moment is not None else 0


def render_events(picture: NodePicture, now: float) -> list[Row]:
    api = picture.api
    rows = []
    for i, e in enumerate(getattr(api, "events", ()) or ()):
        last = _ns(e.last_time or e.first_time)
        obj = f"{e.object_kind.lower()}/{e.object_namespace + '/' if e.object_namespace else ''}{e.object_name}"
        rows.append(Row(
            key=f"{e.namespace}/{e.name}/{i}",
            cells=(fmt.age(last, now), sanitize_label(e.type, 20), sanitize_label(e.reason, 40),
                   sanitize_label(obj, 60), str(e.count),
                   sanitize_label(e.message, 300)),
            sort_values=(-last if last else None, e.type, e.reason, obj, e.count, e.message),
            health="failed" if e.type == "Warning" else "ok",
        ))
    return rows

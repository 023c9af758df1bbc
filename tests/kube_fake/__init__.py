"""A fake Kubernetes API server (real wire format) and builders for realistic v1 objects."""
from .manifests import (
    EPOCH,
    container,
    event_manifest,
    node_manifest,
    pod_manifest,
    pod_ref,
    pods_from_specs,
    stable_uid,
    summary_manifest,
    ts,
)
from .server import FakeKube, Request, field_selector_matches, label_selector_matches, status_body

__all__ = [
    "EPOCH",
    "FakeKube",
    "Request",
    "container",
    "event_manifest",
    "field_selector_matches",
    "label_selector_matches",
    "node_manifest",
    "pod_manifest",
    "pod_ref",
    "pods_from_specs",
    "stable_uid",
    "status_body",
    "summary_manifest",
    "ts",
]

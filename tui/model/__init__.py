"""The joined picture of the node (headless: no textual, no rich)."""
from n9s.model.picture import ContainerRow, Figures, ImageRow, NodeInfo, NodePicture, PodRow, SnapshotRow, SourceHealth, TaskRow

__all__ = [
    "ContainerRow", "Figures", "ImageRow", "NodeInfo", "NodePicture", "PodRow", "SnapshotRow", "SourceHealth", "TaskRow",
]

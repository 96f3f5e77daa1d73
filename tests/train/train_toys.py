"""Tiny data sets and models for the trainer tests (CPU, milliseconds per epoch).

The samples follow CONTRACT.md: ``index``, ``source``, ``label`` / ``face_*`` + ``point_*`` keys, so
``geolearn.datasets.collate.collate_shapes`` batches them like real data.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ToyClassification(torch.utils.data.Dataset):
    """``n`` point clouds of ``num_classes`` classes: Gaussian blobs whose centre encodes the class."""

    def __init__(self, n: int = 64, num_classes: int = 3, num_points: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % num_classes
        centres = torch.eye(3)[:num_classes] * 2.0  # (K, 3)
        self.points = centres[self.labels][:, None, :] + 0.7 * torch.randn(n, num_points, 3, generator=g)
        self.accessed: list[int] = []
        self.epochs_set: list[int] = []

    def __len__(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epochs_set.append(epoch)

    def __getitem__(self, i: int) -> dict[str, Any]:
        self.accessed.append(int(i))
        return {
            "index": torch.tensor(i),
            "source": f"toy:{i}",
            "label": self.labels[i].clone(),
            "points": self.points[i].clone(),
        }


class ToySegmentation(torch.utils.data.Dataset):
    """``n`` shapes with 5-9 faces each, labelled by the sign of x (2 parts); points sit on faces."""

    def __init__(self, n: int = 12, num_points: int = 24, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.samples = []
        for i in range(n):
            f = 5 + i % 5
            centroids = torch.randn(f, 3, generator=g)
            centroids[0, 0], centroids[1, 0] = -1.0, 1.0  # both parts in every shape
            labels = (centroids[:, 0] > 0).long()
            areas = torch.rand(f, generator=g) + 0.1
            point_face = torch.randint(0, f, (num_points,), generator=g)
            point_face[: f - 1] = torch.arange(f - 1)  # every face but the last gets a point
            points = centroids[point_face] + 0.05 * torch.randn(num_points, 3, generator=g)
            self.samples.append(
                {
                    "index": torch.tensor(i),
                    "source": f"toyseg:{i}",
                    "label": torch.tensor(0),
                    "points": points,
                    "point_face": point_face,
                    "point_labels": labels[point_face],
                    "face_labels": labels,
                    "face_areas": areas,
                    "face_centroids": centroids,
                }
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return dict(self.samples[i])


class ToyClassifier(nn.Module):
    """Per-point MLP, max-pool, dropout, linear: ``batch["points"] (B,N,3) → (B,K)``."""

    def __init__(self, num_classes: int = 3, width: int = 16) -> None:
        super().__init__()
        self.point = nn.Sequential(nn.Linear(3, width), nn.LayerNorm(width), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(width, num_classes))

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.head(self.point(batch["points"]).amax(dim=1))


class ToySegmenter(nn.Module):
    """Per-point MLP: ``batch["points"] (B,N,3) → (B,K,N)``."""

    def __init__(self, num_classes: int = 2, width: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(3, width), nn.ReLU(), nn.Dropout(0.1), nn.Linear(width, num_classes)
        )

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.net(batch["points"]).transpose(1, 2)

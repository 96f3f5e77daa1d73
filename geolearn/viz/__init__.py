"""Pictures and plots: contact sheets of rendered views (more plots live beside them)."""

from __future__ import annotations

from geolearn.viz.images import compose_sheet, contact_sheet, face_palette, save_image

__all__ = ["compose_sheet", "contact_sheet", "face_palette", "save_image"]

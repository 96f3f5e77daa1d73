"""Voxelisation: exact surface shell against a clipping reference and analytic cases; robust solid fill."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.ndimage
from geometry_meshes import box, modelnet_mesh, sphere

from geolearn.errors import OptionError
from geolearn.geometry.voxelize import SOLID_DIRECTIONS, VoxelGrid, voxel_centers, voxelize
from geolearn.mesh import Mesh

vox = importlib.import_module("geolearn.geometry.voxelize")  # the package exports a function of that name

R = 32
H = 2.0 / R  # voxel size of the default [-1, 1]^3 grid
CENTRES = voxel_centers(R, np.full(3, -1.0), H)  # (R, R, R, 3)


def clip_overlaps(tri: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Slow reference: clip the triangle polygon against the 6 half-spaces of the box
    (Sutherland–Hodgman); the triangle meets the box iff something is left."""
    poly = [np.asarray(p, dtype=float) for p in tri]
    for axis in range(3):
        for bound, sign in ((lo[axis], 1.0), (hi[axis], -1.0)):
            out = []
            for a, b in zip(poly, poly[1:] + poly[:1], strict=True):
                da, db = sign * (a[axis] - bound), sign * (b[axis] - bound)  # >= 0: inside
                if da >= 0:
                    out.append(a)
                if (da >= 0) != (db >= 0):
                    out.append(a + (b - a) * (da / (da - db)))
            poly = out
            if not poly:
                return False
    return True


def test_surface_matches_clipping_reference():
    rng = np.random.default_rng(0)
    r = 6
    origin = np.array([-1.0, -1.0, -1.0])
    size = 2.0 / r
    corners = origin + size * np.moveaxis(np.indices((r, r, r)), 0, -1)  # (r, r, r, 3) minimum corners
    for scale in (0.15, 0.6, 1.8):  # triangles smaller than, near, and larger than a voxel
        for _ in range(6):
            tri = rng.uniform(-1.0, 1.0, size=(1, 3)) + rng.normal(scale=scale, size=(3, 3))
            grid = voxelize(Mesh(tri, [[0, 1, 2]]), r, bounds=(-1.0, 1.0)).occupancy
            expected = np.zeros((r, r, r), dtype=bool)
            for idx in np.ndindex(r, r, r):
                expected[idx] = clip_overlaps(tri, corners[idx], corners[idx] + size)
            np.testing.assert_array_equal(grid, expected)


def big_triangle(normal: np.ndarray, offset: float) -> Mesh:
    """One triangle in the plane n·x = offset, large enough to cover the plane inside [-1, 1]^3."""
    n = normal / np.linalg.norm(normal)
    u = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    w = np.cross(n, u)
    c = n * offset
    tri = [c + 10 * u, c - 5 * u + 9 * w, c - 5 * u - 9 * w]
    return Mesh(np.asarray(tri), [[0, 1, 2]])


@pytest.mark.parametrize(
    ("normal", "offset"),
    [((0.3, -0.5, 0.8), 0.11), ((1.0, 1.0, 1.0), 0.05), ((0.0, 0.2, 1.0), -0.31), ((1.0, 0.0, 0.0), 0.51)],
)
def test_large_triangle_is_a_gapless_band(normal, offset):
    mesh = big_triangle(np.asarray(normal, dtype=float), offset)
    occ = voxelize(mesh, R, bounds=(-1, 1)).occupancy
    # exact: a voxel meets the plane iff the plane passes within its half-width along n
    n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    dist = CENTRES @ n - offset
    reach = 0.5 * H * np.abs(n).sum()
    assert not np.any(np.isclose(np.abs(dist), reach, rtol=0, atol=1e-9)), "test plane touches a voxel"
    np.testing.assert_array_equal(occ, np.abs(dist) <= reach)
    # one face-connected band, and no hole: the rest splits into two sides even with 26-connectivity
    assert scipy.ndimage.label(occ)[1] == 1
    assert scipy.ndimage.label(~occ, structure=np.ones((3, 3, 3)))[1] == 2


def shell(lo: int, hi: int) -> np.ndarray:
    """Voxels of the block [lo, hi]^3 with at least one index on its boundary."""
    i = np.arange(R)
    inb = (i >= lo) & (i <= hi)
    block = inb[:, None, None] & inb[None, :, None] & inb[None, None, :]
    inner = np.zeros_like(block)
    inner[lo + 1 : hi, lo + 1 : hi, lo + 1 : hi] = True
    return block & ~inner


def test_axis_aligned_cube_surface_is_exact():
    # faces at ±0.53 lie inside voxel layers 7 and 24 (0.53 = -1 + 24.48 h)
    grid = voxelize(box(0.53), R)
    np.testing.assert_array_equal(grid.occupancy, shell(7, 24))
    assert grid.occupancy.sum() == 18**3 - 16**3


def test_face_on_a_grid_plane_marks_both_sides():
    # faces at ±0.5 lie exactly on grid planes (0.5 = -1 + 24 h): the shell is two voxels thick
    occ = voxelize(box(0.5), R).occupancy
    expected = shell(7, 24) | shell(8, 23)
    np.testing.assert_array_equal(occ, expected)


def test_grid_conventions_and_bounds():
    m = box(0.5, center=(0.3, 0.0, 0.0))  # inside [-1, 1]^3: the standard grid
    g = voxelize(m, 8)
    assert isinstance(g, VoxelGrid)
    assert g.occupancy.shape == (8, 8, 8)
    assert g.occupancy.dtype == bool
    np.testing.assert_array_equal(g.origin, [-1.0, -1.0, -1.0])
    assert g.voxel_size == 0.25
    assert g.resolution == 8
    # occupancy[i, j, k] <-> x, y, z: a thin box elongated along x only
    thin = Mesh(box(0.1).vertices * [8.0, 1.0, 1.0], box(0.1).faces)
    occ = voxelize(thin, 16, bounds=(-1, 1)).occupancy
    ext = [np.ptp(np.nonzero(occ)[a]) + 1 for a in range(3)]
    assert ext[0] > ext[1] == ext[2]
    # a mesh outside [-1, 1]^3 gets its bounding cube, centred on its bounding box
    big = Mesh(box(1.0).vertices * [3.0, 1.0, 2.0] + [10.0, 0.0, 0.0], box(1.0).faces)
    g = voxelize(big, 10)
    np.testing.assert_allclose(g.origin, [7.0, -3.0, -3.0])
    assert g.voxel_size == pytest.approx(0.6)
    assert g.occupancy[0].any()
    assert g.occupancy[-1].any()
    # explicit bounds: scalars or 3-vectors; geometry outside is clipped without error
    g = voxelize(m, 4, bounds=((0, 0, 0), (1, 1, 1)))
    np.testing.assert_array_equal(g.origin, [0.0, 0.0, 0.0])
    assert g.voxel_size == 0.25
    assert voxelize(box(0.5, center=(5.0, 5.0, 5.0)), 4, bounds=(-1, 1)).occupancy.sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 0}, "resolution"),
        ({"resolution": 2.5}, "resolution"),
        ({"mode": "filled"}, "mode"),
        ({"bounds": (1.0, -1.0)}, "lo < hi"),
        ({"bounds": ((0, 0, 0), (1, 2, 1))}, "cube"),
        ({"bounds": (0, 1, 2)}, "bounds"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(OptionError, match=match):
        voxelize(box(0.5), **kwargs)


def test_solid_directions_are_antipodal_and_generic():
    d = SOLID_DIRECTIONS
    assert d.shape == (26, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
    # every direction's opposite is in the set (a plane is crossed by at most one ray of a pair)
    assert np.abs(d[:, None, :] + d[None, :, :]).sum(-1).min(axis=1).max() < 1e-12
    assert np.abs(d).min() > 1e-3  # no ray along a grid plane


def test_solid_cube_is_the_full_block():
    occ = voxelize(box(0.53), R, mode="solid").occupancy
    i = np.arange(R)
    inb = (i >= 7) & (i <= 24)
    np.testing.assert_array_equal(occ, inb[:, None, None] & inb[None, :, None] & inb[None, None, :])


def ball_check(occ: np.ndarray, radius: float) -> None:
    """Solid voxels agree with the analytic ball up to the boundary layer."""
    d = np.linalg.norm(CENTRES, axis=-1)
    assert occ[d < radius - 0.01].all()  # the icosphere's faces sag < 0.01 inside the sphere
    assert not occ[d > radius + 0.5 * np.sqrt(3) * H].any()


@pytest.mark.parametrize("duplicate", [False, True])
def test_solid_sphere_matches_ball(duplicate):
    mesh = sphere(0.7)
    if duplicate:  # every face twice, the copy reversed: counting must not see two walls
        mesh = Mesh(mesh.vertices, np.concatenate([mesh.faces, mesh.faces[:, ::-1]]))
    ball_check(voxelize(mesh, R, mode="solid").occupancy, 0.7)


def test_open_sphere_keeps_its_interior():
    full = sphere(0.7)
    keep = full.face_centroids[:, 2] < 0.8 * 0.7  # remove a cap of about 37 degrees
    mesh = Mesh(full.vertices, full.faces[keep])
    assert not mesh.report.is_watertight
    occ = voxelize(mesh, R, mode="solid").occupancy
    ball = np.linalg.norm(CENTRES, axis=-1) < 0.7
    assert (occ & ball).sum() >= 0.95 * ball.sum()
    assert not occ[np.linalg.norm(CENTRES, axis=-1) > 0.7 + H].any()


@pytest.mark.parametrize(("axis", "sign"), [(0, 1), (1, 1), (2, -1)])
def test_box_missing_a_face_keeps_its_interior(axis, sign):
    full = box(0.6)
    keep = ~np.isclose(full.face_centroids[:, axis], sign * 0.6)
    assert keep.sum() == 10
    occ = voxelize(Mesh(full.vertices, full.faces[keep]), R, mode="solid").occupancy
    inner = (np.abs(CENTRES) < 0.6).all(-1)
    assert (occ & inner).sum() >= 0.95 * inner.sum()
    # only the layer next to the opening may be lost
    deep = inner & (sign * CENTRES[..., axis] < 0.6 - H)
    assert occ[deep].all()
    assert not occ[~inner].any()


@pytest.mark.parametrize("normal", [(0.0, 0.0, 1.0), (0.3, -0.5, 0.8)])
def test_open_sheet_fills_nothing(normal):
    mesh = big_triangle(np.asarray(normal, dtype=float), 0.13)
    surface = voxelize(mesh, R, bounds=(-1, 1)).occupancy
    np.testing.assert_array_equal(voxelize(mesh, R, mode="solid", bounds=(-1, 1)).occupancy, surface)
    # a bounded square sheet too
    sq = Mesh(
        [[-0.6, -0.6, 0.1], [0.6, -0.6, 0.1], [0.6, 0.6, 0.1], [-0.6, 0.6, 0.1]], [[0, 1, 2], [0, 2, 3]]
    )
    np.testing.assert_array_equal(voxelize(sq, R, mode="solid").occupancy, voxelize(sq, R).occupancy)


MODELNET = [
    "ModelNet10/chair/train/chair_0001.off",
    "ModelNet10/toilet/train/toilet_0001.off",
    "ModelNet10/bathtub/train/bathtub_0001.off",
    "ModelNet10/monitor/train/monitor_0001.off",
]


@pytest.mark.parametrize("member", MODELNET)
def test_modelnet_solid_is_sane(modelnet_zip, member):
    mesh = modelnet_mesh(modelnet_zip, member)
    surface = voxelize(mesh, R).occupancy
    solid = voxelize(mesh, R, mode="solid").occupancy
    assert (solid >= surface).all()
    assert solid.sum() > surface.sum()
    # no more than 60 % of the voxels of the mesh's bounding box: the fill does not leak
    lo = np.floor((mesh.vertices.min(0) + 1) / H).astype(int)
    hi = np.floor((mesh.vertices.max(0) + 1) / H).astype(int)
    assert solid.sum() <= 0.6 * np.prod(hi - lo + 1)
    # everything filled is inside the bounding box of the mesh
    box_mask = np.zeros_like(solid)
    box_mask[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = True
    assert not (solid & ~box_mask).any()


def test_modelnet_toilet_is_mostly_filled(modelnet_zip):
    # a toilet's bowl base is a closed-ish volume: its interior outnumbers its shell's growth
    mesh = modelnet_mesh(modelnet_zip, "ModelNet10/toilet/train/toilet_0001.off")
    surface = voxelize(mesh, R).occupancy
    solid = voxelize(mesh, R, mode="solid").occupancy
    assert solid.sum() >= 1.3 * surface.sum()


def test_chunking_does_not_change_the_result(monkeypatch):
    mesh = sphere(0.7, subdivisions=3)
    surface, solid = voxelize(mesh, 24).occupancy, voxelize(mesh, 24, mode="solid").occupancy
    monkeypatch.setattr(vox, "PAIR_CHUNK", 37)  # many triangle chunks, some a single triangle
    monkeypatch.setattr(vox, "VOXEL_CHUNK", 1000)
    np.testing.assert_array_equal(voxelize(mesh, 24).occupancy, surface)
    np.testing.assert_array_equal(voxelize(mesh, 24, mode="solid").occupancy, solid)

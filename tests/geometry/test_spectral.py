"""The Laplace–Beltrami eigenbasis, heat kernel signature, face gradients and barycentric coordinates
(geolearn.geometry.spectral), and the SpectralPoints representation, against analytic cases (the
sphere's spectrum, linear functions) and slow references."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from geometry_meshes import box, sphere

from geolearn.datasets.representations import Points, SpectralPoints
from geolearn.errors import EmptyMeshError, MeshError
from geolearn.geometry import spectral
from geolearn.geometry.spectral import (
    barycentric,
    eigenbasis,
    face_gradients,
    heat_kernel_signature,
    hks_times,
    laplacian,
)
from geolearn.mesh import Mesh


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _bumpy(subdivisions: int = 3) -> Mesh:
    """An ellipsoid with a bump: no symmetry, so no repeated eigenvalues."""
    s = trimesh.creation.icosphere(subdivisions=subdivisions)
    v = np.asarray(s.vertices) * [1.0, 0.7, 0.5]
    v = v + 0.3 * np.exp(-8 * ((v - [1.0, 0.0, 0.0]) ** 2).sum(1))[:, None] * [1.0, 0.0, 0.0]
    return Mesh(v, np.asarray(s.faces), source="bumpy ellipsoid")


def test_sphere_spectrum_is_l_times_l_plus_one():
    """On the unit sphere L Y_l = l(l+1) Y_l with multiplicity 2l+1; the basis is of the surface scaled
    to area 1, so the eigenvalues are l(l+1)·4π (up to the icosphere's own area)."""
    mesh = sphere(radius=1.0, subdivisions=4)
    basis = eigenbasis(mesh, 16)
    area = float(mesh.face_areas.sum())
    expected = np.repeat([0.0, 2.0, 6.0, 12.0], [1, 3, 5, 7]) * area  # l(l+1) / r² · area, r = 1
    np.testing.assert_allclose(basis.evals, expected, atol=0.01 * expected.max(), rtol=0.01)
    assert basis.scale == pytest.approx(1 / np.sqrt(area))


def test_eigenvectors_are_mass_orthonormal_and_solve_the_problem():
    mesh = _bumpy()
    basis = eigenbasis(mesh, 20)
    lap, mass = laplacian(basis.vertices, basis.faces)
    np.testing.assert_allclose(basis.evecs.T @ mass @ basis.evecs, np.eye(20), atol=1e-8)
    residual = lap @ basis.evecs - (mass @ basis.evecs) * basis.evals
    assert np.abs(residual).max() < 1e-6 * max(1.0, basis.evals.max())
    assert np.all(np.diff(basis.evals) >= 0) and basis.evals[0] == pytest.approx(0.0, abs=1e-6)


def test_dense_and_sparse_solvers_agree(monkeypatch: pytest.MonkeyPatch):
    mesh = _bumpy(2)  # 162 vertices
    sparse = eigenbasis(mesh, 12)
    monkeypatch.setattr(spectral, "_DENSE_MAX", 10_000)
    dense = eigenbasis(mesh, 12)
    np.testing.assert_allclose(sparse.evals, dense.evals, rtol=1e-6, atol=1e-8)
    # the same functions, up to sign (the eigenvalues are simple)
    np.testing.assert_allclose(
        np.abs(sparse.evecs.T @ laplacian(dense.vertices, dense.faces)[1] @ dense.evecs),
        np.eye(12),
        atol=1e-5,
    )


def test_intrinsic_invariant_to_rotation_translation_and_scale():
    mesh = _bumpy()
    moved = Mesh(2.5 * mesh.vertices @ _rotation(1).T + [3.0, -1.0, 0.5], mesh.faces, source="moved")
    a, b = eigenbasis(mesh, 24), eigenbasis(moved, 24)
    np.testing.assert_allclose(a.evals, b.evals, rtol=1e-6, atol=1e-8)
    times = hks_times(a.evals, 8)
    # merged vertices are numbered by their coordinates: compare per face (faces keep their order)
    ha, hb = (heat_kernel_signature(x.evals, x.evecs, times)[x.faces].mean(1) for x in (a, b))
    np.testing.assert_allclose(ha, hb, rtol=1e-5)


def test_duplicated_vertices_are_merged():
    """A mesh split along seams (every face with its own three vertices) has the spectrum of the whole."""
    mesh = _bumpy(2)
    soup = Mesh(
        mesh.vertices[mesh.faces.reshape(-1)], np.arange(3 * mesh.num_faces).reshape(-1, 3), source="soup"
    )
    np.testing.assert_allclose(eigenbasis(soup, 10).evals, eigenbasis(mesh, 10).evals, rtol=1e-6, atol=1e-8)


def test_small_mesh_pads_with_pairs_that_add_nothing():
    basis = eigenbasis(box(), 16)  # 8 vertices: 8 pairs, then 8 padded
    assert basis.evals.shape == (16,) and basis.evecs.shape == (8, 16)
    assert np.all(basis.evecs[:, 8:] == 0) and np.all(basis.evals[8:] == basis.evals[7])
    assert basis.evals[7] > 0 and basis.count == 8
    # the real pairs give a signature whose integral over the surface is 1 (lumped masses) ...
    real = basis.evals[: basis.count]
    hks = heat_kernel_signature(real, basis.evecs[:, : basis.count], hks_times(real, 4))
    mass = laplacian(basis.vertices, basis.faces)[1].diagonal()
    np.testing.assert_allclose(mass @ hks, np.ones(4), rtol=1e-8)
    # ... and read at points inside the 12 triangles, about 1 (linear interpolation, a coarse mesh)
    out = SpectralPoints(num_points=20000, seed=0, k=16, hks=4)(box())
    assert out["spectral_hks"].mean(0) == pytest.approx(np.ones(4), rel=0.1)


def test_errors_name_the_mesh(monkeypatch: pytest.MonkeyPatch):
    flat = Mesh(np.zeros((3, 3)), np.array([[0, 1, 2]]), source="flat.off")
    with pytest.raises(EmptyMeshError, match=r"flat\.off"):
        eigenbasis(flat, 4)
    monkeypatch.setattr(spectral, "MAX_VERTICES", 100)
    with pytest.raises(MeshError, match=r"bumpy ellipsoid: 642 vertices.*simplify"):
        eigenbasis(_bumpy(3), 4)


def test_hks_matches_a_slow_loop_and_averages_to_one():
    basis = eigenbasis(_bumpy(2), 12)
    times = hks_times(basis.evals, 5)
    fast = heat_kernel_signature(basis.evals, basis.evecs, times)
    slow = np.zeros_like(fast)
    for i in range(basis.evecs.shape[0]):
        for j, t in enumerate(times):
            num = sum(np.exp(-lam * t) * basis.evecs[i, q] ** 2 for q, lam in enumerate(basis.evals))
            slow[i, j] = num / sum(np.exp(-lam * t) for lam in basis.evals)
    np.testing.assert_allclose(fast, slow, rtol=1e-10)
    # ∫ hks dA = 1 on the unit-area surface: the lumped masses weight the vertices
    mass = laplacian(basis.vertices, basis.faces)[1].diagonal()
    np.testing.assert_allclose(mass @ fast, np.ones(5), rtol=1e-8)
    positive = basis.evals[basis.evals > 1e-6]
    assert times[0] == pytest.approx(4 * np.log(10) / positive.max())
    assert times[-1] == pytest.approx(4 * np.log(10) / positive.min())


def test_face_gradient_of_a_linear_function_is_its_tangent_part():
    mesh = _bumpy(2)
    a = np.array([0.3, -1.2, 0.7])
    values = np.stack([mesh.vertices @ a, np.ones(mesh.num_vertices)], axis=1)  # (V, 2)
    g = face_gradients(mesh.vertices, mesh.faces, values)  # (F, 2, 2)
    n = mesh.face_normals
    tangent = a - (n @ a)[:, None] * n
    tri = mesh.triangles
    e1 = (tri[:, 1] - tri[:, 0]) / np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1, keepdims=True)
    e2 = np.cross(n, e1)
    np.testing.assert_allclose(g[:, 0, 0], (tangent * e1).sum(1), atol=1e-10)
    np.testing.assert_allclose(g[:, 0, 1], (tangent * e2).sum(1), atol=1e-10)
    np.testing.assert_allclose(g[:, 1], 0.0, atol=1e-10)  # a constant has no gradient


def test_face_gradient_of_a_degenerate_face_is_zero():
    v = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0]])
    g = face_gradients(v, np.array([[0, 1, 2], [0, 1, 3]]), np.arange(4.0)[:, None])
    assert np.all(g[0] == 0) and np.isfinite(g).all() and np.abs(g[1]).sum() > 0


def test_barycentric_reconstructs_points():
    rng = np.random.default_rng(0)
    tri = rng.normal(size=(50, 3, 3))
    w = rng.dirichlet([1, 1, 1], size=50)
    p = np.einsum("nc,ncd->nd", w, tri)
    np.testing.assert_allclose(barycentric(tri, p), w, atol=1e-10)
    flat = np.zeros((1, 3, 3))
    np.testing.assert_allclose(barycentric(flat, np.zeros((1, 3))), [[1 / 3] * 3])


def test_spectral_points_share_the_points_and_read_the_basis_there():
    mesh = _bumpy()
    rep = SpectralPoints(num_points=4000, seed=3, k=16, hks=6)
    out = rep(mesh)
    ref = Points(4000, 3)(mesh)
    for key in ("points", "normals", "point_face"):
        np.testing.assert_array_equal(out[key], ref[key])
    assert out["spectral_basis"].shape == (4000, 16) and out["spectral_grad"].shape == (4000, 16, 2)
    assert out["spectral_hks"].shape == (4000, 6) and out["spectral_evals"].shape == (16,)
    assert all(v.dtype == np.float32 for k, v in out.items() if k.startswith("spectral_"))
    # slow reference: interpolate each point's corner values by hand
    basis = eigenbasis(mesh, 16)
    for i in (0, 17, 3999):
        f = out["point_face"][i]
        w = barycentric(mesh.triangles[f][None], out["points"][i][None].astype(np.float64))[0]
        expect = sum(w[c] * basis.evecs[basis.faces[f, c]] for c in range(3))
        np.testing.assert_allclose(np.abs(out["spectral_basis"][i]), np.abs(expect), rtol=1e-4, atol=1e-5)
    # area-uniform points: basis.T @ basis / N estimates the identity (Monte Carlo, N = 4000)
    gram = out["spectral_basis"].T.astype(np.float64) @ out["spectral_basis"] / 4000
    assert np.abs(gram - np.eye(16)).max() < 0.15
    assert out["spectral_hks"].mean(0) == pytest.approx(np.ones(6), rel=0.05)
    assert repr(rep) == "SpectralPoints(num_points=4000, seed=3, k=16, hks=6)"


def test_spectral_points_of_a_rotated_mesh_have_the_same_signature():
    mesh = _bumpy()
    turned = Mesh(mesh.vertices @ _rotation(2).T, mesh.faces, source="turned")
    a, b = SpectralPoints(512, 0, 16, 4)(mesh), SpectralPoints(512, 0, 16, 4)(turned)
    np.testing.assert_allclose(a["spectral_hks"], b["spectral_hks"], rtol=1e-4)
    np.testing.assert_allclose(a["spectral_evals"], b["spectral_evals"], rtol=1e-5, atol=1e-4)
    # each eigenfunction's gradient at each point has the same length (its sign may flip with the
    # eigenvector's; the eigenvalues of this shape are simple)
    length_a, length_b = (np.linalg.norm(x["spectral_grad"], axis=-1) for x in (a, b))
    np.testing.assert_allclose(length_a, length_b, rtol=1e-4, atol=1e-4 * length_a.max())

"""Neighbour search equals brute force over all periodic images; small boxes are refused."""
import itertools

import numpy as np
import pytest

from glassvib.configuration import random_configuration
from glassvib.neighbours import cell_grid, neighbour_pairs

RC = 1.955


def brute_force_pairs(pos, box, rc):
    """Every pair and every periodic image shift in {-1, 0, 1}^d.

    Positions lie in [0, L), so |x_j - x_i| < L per axis and any image shifted by |k| >= 2 boxes is
    farther than L >= 2 r_c: these shifts enumerate every image that can be within r_c.
    """
    n, d = pos.shape
    found = {}
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=float) * box
    for i in range(n - 1):
        v = pos[i + 1:, None, :] - pos[i] + shifts[None, :, :]   # (n-i-1, 3^d, d)
        r = np.linalg.norm(v, axis=2)
        for jo, s in zip(*np.nonzero(r < rc)):
            found.setdefault((i, i + 1 + int(jo)), []).append(v[jo, s])
    return found


@pytest.mark.parametrize("d,N", [(2, 16), (2, 40), (2, 150), (3, 64), (3, 200), (3, 500), (4, 256), (4, 700), (4, 1400)])
@pytest.mark.parametrize("seed", [0, 1])
def test_pairs_equal_brute_force_over_images(d, N, seed):
    conf = random_configuration(d, N, seed)
    ii, jj, dr = neighbour_pairs(conf.positions, conf.box, RC)
    ref = brute_force_pairs(conf.positions, conf.box, RC)
    assert all(len(v) == 1 for v in ref.values()), "L >= 2 r_c must give at most one image per pair"
    got = {(int(i), int(j)): v for i, j, v in zip(ii, jj, dr)}
    assert len(got) == len(ii), "a pair was reported twice"
    assert set(got) == set(ref)
    for key, v in got.items():
        np.testing.assert_allclose(v, ref[key][0], atol=1e-12)
    assert np.all(ii < jj)


def test_both_code_paths_are_exercised():
    assert cell_grid(16 ** 0.5, RC)[0] == 0  # O(N^2) path
    assert cell_grid(64 ** (1 / 3), RC)[0] == 0
    assert cell_grid(256 ** 0.25, RC)[0] == 0
    assert cell_grid(200 ** (1 / 3), RC)[0] == 0
    assert cell_grid(700 ** 0.25, RC)[0] == 0
    assert cell_grid(40 ** 0.5, RC)[0] == 3  # cell-list paths, smallest grids
    assert cell_grid(500 ** (1 / 3), RC)[0] == 4
    assert cell_grid(1400 ** 0.25, RC)[0] == 3


@pytest.mark.parametrize("d,N", [(2, 15), (3, 50), (4, 200)])
def test_box_too_small_is_an_error(d, N):
    conf = random_configuration(d, N, 0)
    with pytest.raises(ValueError, match="2 r_cut"):
        neighbour_pairs(conf.positions, conf.box, RC)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_particles_on_cell_faces_are_found(d):
    """Particles on the cell grid's faces and corners (a lattice whose spacing divides the cell side,
    plus round-off jitter, and particles at 0 and just below L): the cell search, which skips a cell
    when a particle is out of reach of the cell's bounding box, finds exactly the brute-force pairs."""
    box = {2: 9.0, 3: 8.0, 4: 7.0}[d]
    nc, _ = cell_grid(box, RC)
    assert nc >= 3
    side = box / nc / 2  # two lattice sites per cell side: every second plane is a cell face
    g = np.arange(2 * nc) * side
    pos = np.array(list(itertools.product(g, repeat=d)), dtype=float)
    rng = np.random.default_rng(0)
    pos = np.concatenate([pos, np.mod(pos + rng.choice([-1e-15, 0.0, 1e-15], size=pos.shape), box),
                          np.full((1, d), box * (1 - 1e-16))])
    pos = pos[rng.permutation(len(pos))[:min(len(pos), 900)]]
    ii, jj, dr = neighbour_pairs(pos, box, RC)
    ref = brute_force_pairs(pos, box, RC)
    got = {(int(i), int(j)): v for i, j, v in zip(ii, jj, dr)}
    assert len(got) == len(ii) and set(got) == set(ref)


@pytest.mark.parametrize("d,N", [(2, 150), (3, 500), (4, 256)])  # (4, 256): the O(N^2) path
def test_indices_into_reused_buffers_are_the_pairs_in_the_same_order(d, N):
    """neighbour_indices gives neighbour_pairs' (i, j) in the same order, writes into the buffers it
    is given while they are long enough (the next call overwrites the views), and grows them when
    they are too short."""
    from glassvib.neighbours import neighbour_indices

    confs = [random_configuration(d, N, seed) for seed in (0, 1)]
    ref = [neighbour_pairs(c.positions, c.box, RC)[:2] for c in confs]
    ii, jj, buffers = neighbour_indices(confs[0].positions, confs[0].box, RC)
    assert np.array_equal(ii, ref[0][0]) and np.array_equal(jj, ref[0][1])
    ii, jj, again = neighbour_indices(confs[1].positions, confs[1].box, RC, buffers)
    assert again is buffers and np.shares_memory(ii, buffers[0])
    assert np.array_equal(ii, ref[1][0]) and np.array_equal(jj, ref[1][1])
    short = (np.empty(3, np.int64), np.empty(3, np.int64))
    ii, jj, grown = neighbour_indices(confs[0].positions, confs[0].box, RC, short)
    assert len(grown[0]) >= len(ref[0][0]) > 3
    assert np.array_equal(ii, ref[0][0]) and np.array_equal(jj, ref[0][1])

"""Kernels, compact XOR inner products and the structured models of the payment-rule SVM.

Every vectorized quantity is checked against an explicit construction: expanded 2^m valuation
vectors, attribute vectors ψ built by hand from the paper's definitions (§5.1.1, §5.2), and
kernels evaluated on those vectors directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt.domains.distributions import AssignmentProfiles, MultiMindedCA, XORProfiles
from mechopt.domains.xor import all_bundles, expand_xor, xor_inner, xor_terms, xor_value
from mechopt.learning.kernels import (
    LinearKernel,
    PolynomialKernel,
    RBFKernel,
    kernel_from_dict,
    make_kernel,
)
from mechopt.learning.structured import (
    AssignmentModel,
    CombinatorialModel,
    RowCache,
    StructuredModel,
    make_structured_model,
    structured_model_from_dict,
)

KERNELS = [LinearKernel(), PolynomialKernel(degree=2), PolynomialKernel(degree=3, coef0=0.5), RBFKernel(gamma=0.3)]


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.describe())
def test_kernel_formulas_and_cross_block_factorization(kernel):
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 5)), rng.random((3, 5))
    direct = {
        "linear": a @ b.T,
        "poly": (a @ b.T + getattr(kernel, "coef0", 1.0)) ** getattr(kernel, "degree", 1),
        "rbf": np.exp(-getattr(kernel, "gamma", 1.0) * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)),
    }[kernel.name]
    assert np.allclose(kernel(a, b), direct)
    # orthogonal vectors (different blocks): K = cross_scale g(n) g(n')
    x = np.concatenate([a, np.zeros_like(a)], axis=1)
    y = np.concatenate([np.zeros_like(b), b], axis=1)
    n1, n2 = (a**2).sum(1)[:, None], (b**2).sum(1)[None, :]
    assert np.allclose(kernel(x, y), kernel.cross(n1, n2))
    assert kernel_from_dict(kernel.to_dict()) == kernel


def test_make_kernel_errors():
    assert make_kernel("rbf", gamma=2.0) == RBFKernel(2.0)
    assert make_kernel("linear", gamma=None) == LinearKernel()
    with pytest.raises(ValueError, match="unknown kernel"):
        make_kernel("sigmoid")
    with pytest.raises(ValueError, match="takes no parameter"):
        make_kernel("linear", gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        make_kernel("rbf", gamma=-1.0)
    with pytest.raises(ValueError, match="degree"):
        make_kernel("poly", degree=0)
    with pytest.raises(ValueError, match="not a kernel"):
        kernel_from_dict({"gamma": 1})


# --------------------------------------------------------------------------------------
# compact XOR inner products (Lemma 2, docs/payment-rules.md#xor-inner-products)
# --------------------------------------------------------------------------------------
@st.composite
def xor_bids(draw, m, count, b):
    bundles = draw(st.lists(st.lists(st.integers(1, (1 << m) - 1), min_size=b, max_size=b), min_size=count, max_size=count))
    # values from a small grid so that ties between bids occur
    values = draw(st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.75, 1.0]), min_size=b, max_size=b),
                           min_size=count, max_size=count))
    return np.array(bundles, dtype=np.int64), np.array(values)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(1, 6), st.integers(1, 4))
def test_compact_inner_product_matches_expanded_vectors(data, m, b):
    ba, va = data.draw(xor_bids(m, 3, b))
    bb, vb = data.draw(xor_bids(m, 2, b))
    exclude = data.draw(st.integers(0, (1 << m) - 1))
    xa, xb = expand_xor(ba, va, m), expand_xor(bb, vb, m)
    keep = (all_bundles(m) & exclude) == 0  # φ2: bundles disjoint from the outcome
    expected = (xa * keep) @ xb.T
    got = xor_inner(xor_terms(ba, va), xor_terms(bb, vb), m, exclude=exclude)
    assert np.allclose(got, expected, atol=1e-12)
    # valuation vectors: free disposal, XOR semantics
    for k in range(3):
        for s in range(1 << m):
            fits = [va[k, j] for j in range(b) if ba[k, j] & ~s == 0]
            assert xa[k, s] == max(fits, default=0.0)
    assert np.array_equal(xor_value(ba[:, None, :], va[:, None, :], all_bundles(m)[None, :]), xa)


def test_compact_inner_product_single_minded_closed_form():
    # single-minded: <θ, θ'> = v v' 2^{m - |B ∪ B'|} (paper, Appendix A)
    m = 7
    a = (np.array([[0b0000111]]), np.array([[0.4]]))
    b = (np.array([[0b0011100]]), np.array([[0.9]]))
    got = xor_inner(xor_terms(*a), xor_terms(*b), m)
    assert got[0, 0] == pytest.approx(0.4 * 0.9 * 2 ** (m - 5))


# --------------------------------------------------------------------------------------
# structured models against hand-built attribute vectors
# --------------------------------------------------------------------------------------
def _ca_profiles(N=6, n=3, m=3, b=2, seed=0):
    return MultiMindedCA(n_agents=n, n_items=m, n_bundles=b, gamma=1.0).sample(N, seed)


def _psi_by_hand(model: CombinatorialModel, profiles: XORProfiles, agent: int) -> tuple[np.ndarray, np.ndarray]:
    """ψ(x_{-i}, o) for every instance and bundle o, straight from §5.1.1 and §6.1.3."""
    m = profiles.n_items
    full = profiles.expand()  # (N, n, 2^m)
    N, n, width = full.shape
    others = [a for a in range(n) if a != agent]
    psi = np.zeros((N, width, width * (n - 1) * width))
    scale = np.ones(N)
    for k in range(N):
        top = [profiles.values[k, a].max() for a in others]
        order = [others[i] for i in np.argsort(-np.array(top), kind="stable")]
        scale[k] = max(top) if max(top) > 0 else 1.0
        x = np.concatenate([full[k, a] for a in order]) / scale[k]  # x_{-i}
        for o in range(width):
            block = x.copy()
            if model.attribute == "phi2":
                mask = np.tile(((all_bundles(m) & o) == 0).astype(float), n - 1)
                block = block * mask
            psi[k, o, o * len(x):(o + 1) * len(x)] = block
    return psi, scale


@pytest.mark.parametrize("attribute", ["phi1", "phi2"])
@pytest.mark.parametrize("expand", ["yes", "no"])
def test_combinatorial_attributes_and_kernel_sums(attribute, expand):
    profiles = _ca_profiles()
    model = CombinatorialModel(attribute=attribute, expand=expand)
    outcomes = np.array([[1, 2, 4], [0, 3, 4], [7, 0, 0], [2, 1, 0], [0, 0, 6], [4, 0, 3]])
    ex = model.examples(profiles, outcomes, agent=1)
    other = model.examples(_ca_profiles(N=4, seed=3), agent=0)
    psi, scale = _psi_by_hand(model, profiles, 1)
    psi_o, _ = _psi_by_hand(model, _ca_profiles(N=4, seed=3), 0)
    assert np.allclose(ex.scale, scale)
    assert np.array_equal(ex.truth, outcomes[:, 1])  # all-bundle layout: column = bundle
    own = profiles.expand()[:, 1]
    assert np.allclose(ex.values, own / scale[:, None])
    if expand == "yes":
        feats = model.features(ex, np.repeat(np.arange(6), 8), np.tile(np.arange(8), 6)).toarray()
        assert np.allclose(feats[:, 1:], psi.reshape(48, -1))
        assert np.allclose(feats[:, 0], ex.values.ravel())
        w = np.random.default_rng(1).normal(size=model.n_features(ex) - 1)
        assert np.allclose(model.linear_scores(ex, w), (psi.reshape(48, -1) @ w).reshape(6, 8))
    rng = np.random.default_rng(2)
    beta = np.where(rng.random(ex.codes.shape) < 0.3, rng.normal(size=ex.codes.shape), 0.0)
    for kernel in KERNELS:
        expected = (beta.reshape(-1) @ kernel(psi.reshape(48, -1), psi_o.reshape(32, -1))).reshape(4, 8)
        assert np.allclose(model.kernel_sums(kernel, ex, beta, other), expected)
        cache = RowCache(ex.n, max_bytes=3 * 8 * ex.n)  # room for 3 rows: the rest is recomputed
        for _ in range(2):
            inner = (beta.reshape(-1) @ kernel(psi.reshape(48, -1), psi.reshape(48, -1))).reshape(6, 8)
            assert np.allclose(model.kernel_sums(kernel, ex, beta, ex, cache), inner)
        atoms_a = (np.array([0, 2, 5]), np.array([1, 7, 3]))
        atoms_b = (np.array([1, 2, 3, 3]), np.array([1, 7, 0, 3]))
        explicit = kernel(psi[atoms_a], psi[atoms_b])
        assert np.allclose(model.kernel_matrix(kernel, ex, atoms_a, atoms_b), explicit)


def test_compact_and_expanded_examples_agree_on_more_items():
    profiles = MultiMindedCA(n_agents=3, n_items=9, n_bundles=3).sample(5, 1)
    dense = CombinatorialModel(attribute="phi2", expand="yes", candidates="explicit")
    compact = CombinatorialModel(attribute="phi2", expand="no", candidates="explicit")
    outcomes = np.zeros((5, 3), dtype=np.int64)
    a, b = dense.examples(profiles, outcomes), compact.examples(profiles, outcomes)
    beta = np.where(a.valid, np.random.default_rng(0).normal(size=a.codes.shape), 0.0)
    kernel = RBFKernel(0.2)
    assert np.allclose(dense.kernel_sums(kernel, a, beta, a), compact.kernel_sums(kernel, b, beta, b))
    assert np.allclose(dense.sqnorms(a), compact.sqnorms(b))


def test_explicit_candidates_are_null_bids_and_truth():
    profiles = _ca_profiles(N=5, n=3, m=4, b=3, seed=2)
    model = CombinatorialModel(candidates="explicit")
    truth = np.array([0b1111, 0, 0b0001, 0b0110, 0b1000])
    ex = model.examples(profiles, truth, agent=0)
    for k in range(5):
        got = set(ex.codes[k][ex.valid[k]].tolist())
        assert got == {0, truth[k], *profiles.bundles[k, 0].tolist()}
        assert ex.codes[k, ex.truth[k]] == truth[k] and ex.codes[k, ex.null_col[k]] == 0
        assert np.allclose(ex.values[k][ex.valid[k]],
                           profiles.expand()[k, 0, ex.codes[k][ex.valid[k]]] / ex.scale[k])


def test_normalization_makes_examples_scale_free():
    profiles = _ca_profiles(N=4, seed=5)
    scaled = XORProfiles(profiles.bundles, profiles.values * 0.37, profiles.n_items)
    model = CombinatorialModel()
    a, b = model.examples(profiles, agent=2), model.examples(scaled, agent=2)
    assert np.allclose(a.values, b.values) and np.allclose(a.base.X, b.base.X)
    assert np.allclose(b.scale, 0.37 * a.scale)
    # sorting: the first other agent has the highest bid, which is normalized to 1
    assert np.allclose(a.base.X[:, 0].max(axis=1), 1.0)


def test_assignment_attributes_remove_the_item_column():
    values = np.random.default_rng(3).random((4, 3, 3))
    profiles = AssignmentProfiles(values)
    model = AssignmentModel()
    ex = model.examples(profiles, np.array([[0, 1, 2]] * 4), agent=1)
    others = values[:, [0, 2]]
    psi = np.stack([np.stack([np.delete(others[k], j, axis=1).ravel() for j in range(3)]) for k in range(4)])
    feats = model.features(ex, np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)).toarray()
    assert np.allclose(feats[:, 1:], psi.reshape(12, -1))
    assert np.allclose(ex.values, values[:, 1])
    beta = np.random.default_rng(4).normal(size=(4, 3))
    for kernel in KERNELS:
        expected = (beta.reshape(-1) @ kernel(psi.reshape(12, -1), psi.reshape(12, -1))).reshape(4, 3)
        assert np.allclose(model.kernel_sums(kernel, ex, beta, ex), expected)


def test_assignment_leximin_attributes_match_brute_force_and_the_baselines():
    import itertools

    from mechopt.domains.evaluate import assignment_vcg_prices

    values = np.random.default_rng(5).random((5, 4, 4))
    profiles = AssignmentProfiles(values)
    model = AssignmentModel(attribute="leximin")
    ex = model.examples(profiles, np.zeros((5, 4), dtype=int), agent=2)
    others = values[:, [0, 1, 3]]
    feats = model.features(ex, np.repeat(np.arange(5), 4), np.tile(np.arange(4), 5)).toarray()
    for k in range(5):
        for j in range(4):
            rest = [c for c in range(4) if c != j]
            best = max(sorted(others[k][np.arange(3), list(p)]) for p in itertools.permutations(rest))
            assert np.allclose(feats[4 * k + j, 1:], best)
    # tot-vcg and eg-vcg are linear in the map, up to an item-independent amount per instance
    lex = feats[:, 1:].reshape(5, 4, 3)
    for kind, stat in (("tot-vcg", lex.sum(axis=2)), ("eg-vcg", lex[:, :, 0])):
        shift = assignment_vcg_prices(profiles.without_agent(2), kind) + stat
        assert np.allclose(shift, shift[:, :1])
    beta = np.random.default_rng(6).normal(size=(5, 4))
    flat = lex.reshape(20, 3)
    for kernel in KERNELS:
        expected = (beta.reshape(-1) @ kernel(flat, flat)).reshape(5, 4)
        assert np.allclose(model.kernel_sums(kernel, ex, beta, ex), expected)


def test_assignment_leximin_prices_ignore_the_labels_of_other_agents_and_items():
    from mechopt.domains.distributions import AssignmentProblem
    from mechopt.domains.rules import apply_rule
    from mechopt.learning.cutting_plane import CuttingPlaneSSVM

    train = AssignmentProblem(n_agents=4).sample(40, seed=2)
    outcomes = apply_rule(train, "optimal").outcomes
    others = AssignmentProblem(n_agents=4).sample(6, seed=3).without_agent(0)  # (6, 3, 4)
    rows, items = [2, 0, 1], [3, 1, 0, 2]
    shuffled = AssignmentProfiles(others.values[:, rows][:, :, items])
    for attribute, invariant in (("leximin", True), ("psi", False)):
        model = AssignmentModel(attribute=attribute)
        learner = CuttingPlaneSSVM(model, "rbf", C=1e3, gamma=1.0, epsilon=1e-2).fit(train, outcomes)
        prices = learner.prices(model.price_examples(others))
        moved = learner.prices(model.price_examples(shuffled))
        # the paper's map orders the other agents and items by their labels: not invariant
        assert np.allclose(moved, prices[:, items]) == invariant


def test_loss_and_separation_oracle_match_brute_force():
    profiles = _ca_profiles(N=7, seed=8)
    model = CombinatorialModel(null_loss=2.5)
    truth = np.array([3, 0, 5, 1, 0, 7, 2])
    ex = model.examples(profiles, truth, agent=0)
    loss = model.loss(ex)
    scores = np.random.default_rng(9).normal(size=ex.codes.shape)
    cols, hinge = StructuredModel.separate(ex, scores, loss)
    for k in range(ex.n):
        t = truth[k]
        best, best_o = 0.0, t
        for o in range(8):
            delta = 0.0 if o == t else (2.5 if (o == 0 and t != 0) else 1.0)
            assert loss[k, o] == delta
            h = delta - (scores[k, t] - scores[k, o])
            if o != t and h > best:
                best, best_o = h, o
        assert hinge[k] == pytest.approx(best) and cols[k] == best_o


def test_model_settings_round_trip_and_errors():
    for model in (CombinatorialModel(attribute="phi1", null_loss=2.0, candidates="explicit"), AssignmentModel(),
                  AssignmentModel(attribute="leximin")):
        assert structured_model_from_dict(model.to_dict()) == model
    with pytest.raises(ValueError, match="assignment attribute map"):
        AssignmentModel(attribute="phi1")
    with pytest.raises(ValueError, match="attribute map"):
        CombinatorialModel(attribute="phi3")
    with pytest.raises(ValueError, match="null loss"):
        CombinatorialModel(null_loss=0.5)
    with pytest.raises(ValueError, match="unknown domain"):
        make_structured_model("auction")
    with pytest.raises(ValueError, match="agent 5 out of range"):
        CombinatorialModel().examples(_ca_profiles(), agent=5)
    with pytest.raises(ValueError, match="bitmasks"):
        CombinatorialModel().examples(_ca_profiles(), np.full((6, 3), 99))
    with pytest.raises(ValueError, match="explicit"):
        CombinatorialModel(expand="no").examples(MultiMindedCA(n_agents=2, n_items=13).sample(2, 0))

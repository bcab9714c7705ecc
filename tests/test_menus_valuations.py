"""Valuations against brute force: XOR values via the core Bidder, lotteries by enumeration."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from mechopt.auction import Bid, Bidder  # noqa: E402
from mechopt.generators import generate_auction  # noqa: E402
from mechopt.menus.config import MenuConfig  # noqa: E402
from mechopt.menus.valuations import (  # noqa: E402
    Additive,
    GeneratedXOR,
    Triangle,
    UnitDemand,
    XORAtoms,
    XORValuation,
    all_bundles,
    make_valuation,
)

pytestmark = pytest.mark.menus
F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def bidder_of(buyers: XORAtoms, n: int) -> Bidder:
    bids = []
    for j in range(buyers.values.shape[1]):
        items = [str(i) for i in torch.nonzero(buyers.bundles[n, j]).flatten().tolist()]
        if items:
            bids.append(Bid(f"{j}", items, float(buyers.values[n, j])))
    return Bidder("b", tuple(bids))


def brute_lottery(bundle_value, probs_row) -> float:
    """E[v(S)] with item i in S independently with probability probs_row[i]."""
    m = len(probs_row)
    total = 0.0
    for bits in itertools.product([0, 1], repeat=m):
        p = 1.0
        for i, b in enumerate(bits):
            p *= float(probs_row[i]) if b else 1 - float(probs_row[i])
        total += p * bundle_value([i for i, b in enumerate(bits) if b])
    return total


def test_all_bundles_order():
    assert all_bundles(2).tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]


def test_xor_bundle_values_match_core_bidder():
    val = XORValuation(4, 3, dtype=F64)
    buyers = val.sample(30, gen(1))
    assert bool((buyers.bundles.sum(dim=2) >= 1).all()), "atoms must be non-empty"
    bundles = all_bundles(4, dtype=F64)
    got = val.bundle_values(buyers, bundles)
    for n in range(buyers.n):
        bidder = bidder_of(buyers, n)
        for k, row in enumerate(bundles):
            items = [str(i) for i in torch.nonzero(row).flatten().tolist()]
            assert float(got[n, k]) == pytest.approx(bidder.value(items))


def test_xor_atoms_are_uniform_over_nonempty_subsets():
    val = XORValuation(2, 1)
    buyers = val.sample(30000, gen(2))
    codes = (buyers.bundles[:, 0, 0] + 2 * buyers.bundles[:, 0, 1]).long()
    freq = torch.bincount(codes, minlength=4).double() / 30000
    assert freq[0] == 0
    assert torch.allclose(freq[1:], torch.full((3,), 1 / 3, dtype=F64), atol=0.015)


@pytest.mark.parametrize("make", [
    lambda: Additive(3, dtype=F64),
    lambda: UnitDemand(3, dtype=F64),
    lambda: Triangle(3, dtype=F64),
    lambda: XORValuation(3, 4, dtype=F64),
])
def test_lottery_values_are_exact_expectations(make):
    val = make()
    buyers = val.sample(6, gen(3))
    probs = torch.rand(4, 3, generator=gen(4), dtype=F64)
    probs[0] = torch.tensor([1.0, 0.0, 1.0], dtype=F64)  # a deterministic bundle as a lottery
    got = val.lottery_values(buyers, probs)
    for n in range(buyers.n):
        one = buyers.take(torch.tensor([n]))

        def value_of(items, one=one):
            row = torch.zeros(1, 3, dtype=F64)
            row[0, items] = 1.0
            return float(val.bundle_values(one, row)[0, 0])

        for k in range(probs.shape[0]):
            assert float(got[n, k]) == pytest.approx(brute_lottery(value_of, probs[k]), abs=1e-12)


@pytest.mark.parametrize("make", [
    lambda: Additive(3, dtype=F64),
    lambda: UnitDemand(3, dtype=F64),
    lambda: XORValuation(3, 4, dtype=F64),
])
def test_relaxed_values_are_exact_on_bundles(make):
    val = make()
    buyers = val.sample(20, gen(5))
    bundles = all_bundles(3, dtype=F64)
    assert torch.allclose(val.relaxed_values(buyers, bundles), val.bundle_values(buyers, bundles))


def test_unit_demand_bundle_is_its_best_item():
    buyers = UnitDemand(2).sample(5, gen(6))
    both = UnitDemand(2).bundle_values(buyers, torch.tensor([[1.0, 1.0]]))[:, 0]
    assert torch.equal(both, buyers.values.max(dim=1).values)


def test_triangle_values_lie_in_the_simplex_and_fill_it():
    values = Triangle(2, dtype=F64).sample(40000, gen(7)).values
    assert bool((values >= 0).all()) and bool((values.sum(dim=1) <= 1 + 1e-12).all())
    # uniform on the triangle: E[v_1] = 1/3, P(v_1 + v_2 <= 1/2) = 1/4
    assert float(values[:, 0].mean()) == pytest.approx(1 / 3, abs=0.01)
    assert float((values.sum(dim=1) <= 0.5).double().mean()) == pytest.approx(0.25, abs=0.01)


def test_generated_buyers_are_the_instances_bidders():
    val = GeneratedXOR(3, "arbitrary", 20, dtype=F64)
    g = gen(8)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen(8)))
    buyers = val.sample(5, g)
    auction = generate_auction("arbitrary", n_items=3, n_bids=20, seed=seed)
    top = max(b.value for _, b in auction.iter_bids())
    bundles = all_bundles(3, dtype=F64)
    got = val.bundle_values(buyers, bundles)
    for n, bidder in enumerate(auction.bidders[:5]):
        for k, row in enumerate(bundles):
            items = [auction.items[i] for i in torch.nonzero(row).flatten().tolist()]
            assert float(got[n, k]) == pytest.approx(bidder.value(items) / top)
    assert float(buyers.values.max()) <= 1.0


def test_make_valuation_follows_config():
    assert isinstance(make_valuation(MenuConfig(valuation="xor", n_atoms=5)), XORValuation)
    assert make_valuation(MenuConfig(valuation="xor", n_atoms=5)).n_atoms == 5
    assert isinstance(make_valuation(MenuConfig(valuation="generated", distribution="L2")), GeneratedXOR)
    with pytest.raises(ValueError, match="items"):
        Additive(0)
    with pytest.raises(ValueError, match="shape"):
        Additive(2).bundle_values(Additive(2).sample(3, gen()), torch.ones(2, 3))

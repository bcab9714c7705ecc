"""Bundle-size pricing (mechopt.menus.size_pricing): the exact fit against brute force over
every price vector on the sample's values and every one of the 2^m bundles, payments against
brute force for buyers of any atom sizes, the ceiling as an upper bound of the kernel fits, and
the size-only ceiling reported next to the baselines."""

from __future__ import annotations

import itertools
import json

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mechopt.cli import cli  # noqa: E402
from mechopt.errors import InputError  # noqa: E402
from mechopt.menus.baselines import compute_baselines  # noqa: E402
from mechopt.menus.evaluate import hard_choice  # noqa: E402
from mechopt.menus.size_pricing import (  # noqa: E402
    SIZE_PRICE_WIDTHS,
    best_size_prices,
    fit_size_prices,
    single_size,
    size_ceiling,
    size_pricing_paid,
)
from mechopt.menus.valuations import GeneratedXOR, XORAtoms, XORValuation, all_bundles  # noqa: E402

pytestmark = pytest.mark.menus

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _one_size_buyers(n: int, m: int, seed: int, atoms: int = 2, levels: int = 0) -> XORAtoms:
    """``n`` buyers, each with ``atoms`` atoms of one random size k_n and a padding atom;
    values in (0, 1], on a grid of ``levels`` values when > 0 (ties between buyers)."""
    g = _gen(seed)
    k = torch.randint(1, m + 1, (n,), generator=g)
    bundles = torch.zeros(n, atoms + 1, m, dtype=F64)
    for i in range(n):
        for j in range(atoms):
            bundles[i, j, torch.randperm(m, generator=g)[: int(k[i])]] = 1.0
    values = torch.rand(n, atoms, generator=g, dtype=F64)
    if levels:
        values = (values * levels).ceil() / levels
    return XORAtoms(bundles, torch.cat([values, values.new_zeros(n, 1)], dim=1))


def _brute_paid(buyers: XORAtoms, m: int, prices: tuple[float, ...]) -> torch.Tensor:
    """Payments when each of the 2^m bundles S is on offer at prices[|S|] (any, also
    decreasing): the buyer values S at its best atom inside S and takes its best bundle."""
    every = all_bundles(m, dtype=F64)
    bundle_prices = torch.tensor(prices, dtype=F64)[every.sum(1).long()]
    values = XORValuation(m, buyers.values.shape[1], dtype=F64).bundle_values(buyers, every)
    return hard_choice(values, bundle_prices)[1]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 3), n=st.integers(1, 5), levels=st.sampled_from([0, 3]))
def test_exact_size_prices_equal_brute_force_over_every_price_vector(seed, m, n, levels):
    buyers = _one_size_buyers(n, m, seed, levels=levels)
    fit = best_size_prices(buyers)
    candidates = sorted({0.0, *buyers.values.reshape(-1).tolist()})
    brute = max(float(_brute_paid(buyers, m, (0.0, *f)).mean())
                for f in itertools.product(candidates, repeat=m))
    assert fit.revenue == pytest.approx(brute, abs=1e-12)
    assert float(fit.prices[0]) == 0.0 and bool((fit.prices[1:] >= fit.prices[:-1]).all())
    assert float(size_pricing_paid(buyers, fit.prices).mean()) == pytest.approx(fit.revenue, abs=1e-12)
    assert float(_brute_paid(buyers, m, tuple(fit.prices.tolist())).mean()) == pytest.approx(fit.revenue, abs=1e-12)


@pytest.mark.parametrize(("m", "seed"), [(4, 0), (6, 1), (8, 2)])
def test_payments_equal_brute_force_for_atoms_of_any_size(m, seed):
    buyers = XORValuation(m, 3, dtype=F64).sample(200, _gen(seed))  # atoms of different sizes
    assert not single_size(buyers)
    g = _gen(seed + 50)
    f = torch.cat([torch.zeros(1, dtype=F64), torch.cumsum(0.3 * torch.rand(m, generator=g, dtype=F64), 0)])
    assert torch.allclose(size_pricing_paid(buyers, f), _brute_paid(buyers, m, tuple(f.tolist())), atol=1e-12)


def test_the_ceiling_bounds_every_size_pricing_on_the_same_buyers():
    buyers = _one_size_buyers(500, 12, 3, atoms=3)
    ceiling = size_ceiling(buyers)
    assert ceiling is not None
    for width in (0, *SIZE_PRICE_WIDTHS):
        assert float(size_pricing_paid(buyers, fit_size_prices(buyers, width)).mean()) <= ceiling + 1e-12
    other = best_size_prices(_one_size_buyers(500, 12, 4, atoms=3))  # fitted on other buyers
    assert float(size_pricing_paid(buyers, other.prices).mean()) <= ceiling + 1e-12


def test_bad_input_is_refused_in_one_line():
    mixed = XORValuation(5, 3, dtype=F64).sample(50, _gen(0))
    with pytest.raises(InputError, match="one size"):
        best_size_prices(mixed)
    assert size_ceiling(mixed) is None
    buyers = _one_size_buyers(10, 4, 0)
    with pytest.raises(InputError, match="5 entries"):
        size_pricing_paid(buyers, torch.zeros(4, dtype=F64))
    with pytest.raises(InputError, match="never decrease"):
        size_pricing_paid(buyers, torch.tensor([0.0, 0.5, 0.2, 0.6, 0.7], dtype=F64))


def test_generated_buyers_have_one_size_and_get_a_ceiling():
    valuation = GeneratedXOR(20, "regions", 50, dtype=F64)
    fit, test = valuation.sample(300, _gen(1)), valuation.sample(200, _gen(2))
    assert single_size(fit) and single_size(test)
    base = compute_baselines(valuation, fit, test, menu_size=4, milp_buyers=0)
    assert base.size_ceiling == pytest.approx(best_size_prices(test).revenue)
    assert base.size_ceiling <= base.welfare + 1e-12
    assert base.to_dict()["size_ceiling"] == base.size_ceiling
    xor = XORValuation(6, 3, dtype=F64)
    assert compute_baselines(xor, xor.sample(100, _gen(3)), xor.sample(100, _gen(4)), menu_size=4,
                             milp_buyers=0).size_ceiling is None


def test_bench_table_shows_the_ceiling():
    runner = CliRunner()
    args = ["bench", "menus-cats", "--distributions", "regions", "--items", "9", "--kinds", "priced",
            "--seeds", "1", "--batch-size", "16", "--train-pool", "64", "--val-size", "64",
            "--test-size", "48", "--milp-buyers", "0", "--priced-steps", "2", "--priced-offers", "2"]
    res = runner.invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    run, row = data["runs"][0], data["rows"][0]
    assert run["baselines"]["size_ceiling"] == pytest.approx(row["size_ceiling"])
    assert row["size_ceiling_ratio"] == pytest.approx(row["size_ceiling"] / run["baselines"]["best_test_revenue"])
    res = runner.invoke(cli, [*args, "--markdown"])
    assert res.exit_code == 0, res.output
    head, _, line = res.stdout.splitlines()[:3]
    assert "size-only ceiling" in head
    assert f"{row['size_ceiling']:.4f} ({row['size_ceiling_ratio']:.3f}×)" in line

"""Exact answers whatever the unit of the values (and a clear refusal outside the range).

HiGHS' tolerances are absolute, so the WDP is solved at ``model.objective_scale`` (a power
of two near the largest value); values spanning more than ``MAX_VALUE_RATIO`` are refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mechopt.auction import (
    MAX_VALUE_RATIO,
    AuctionError,
    Bid,
    Bidder,
    CombinatorialAuction,
    ValueRangeError,
    check_value_range,
)
from mechopt.audit import Verdict, audit_auction
from mechopt.cli import cli
from mechopt.formulations.wdp import build_wdp_model, objective_scale
from mechopt.io import InstanceFileError, load_auction
from mechopt.mechanisms import run_vcg, solve_wdp
from mechopt.mechanisms.vcg import likely_winners

from brute import best_welfare, vcg_payments_for
from strategies import xor_auctions

DATA = Path(__file__).resolve().parent.parent / "data"


def scaled(auction: CombinatorialAuction, factor: float) -> CombinatorialAuction:
    """The same auction with every value multiplied by ``factor`` (same ids)."""
    bidders = tuple(
        Bidder(b.id, tuple(Bid(bid.id, bid.items, bid.value * factor) for bid in b.bids))
        for b in auction.bidders
    )
    return CombinatorialAuction(auction.items, bidders, name=auction.name)


def write_scaled(src: Path, factor: float, dst: Path) -> Path:
    data = json.loads(src.read_text())
    for bidder in data["bidders"]:
        for bid in bidder["bids"]:
            bid["value"] *= factor
    dst.write_text(json.dumps(data))
    return dst


# -- uniform scales --------------------------------------------------------------------
def test_default_times_1e_8_is_solved_to_the_true_optimum():
    auction = load_auction(DATA / "default.json")
    small = scaled(auction, 1e-8)
    alloc = solve_wdp(small)
    assert alloc.is_optimal
    assert alloc.winners == solve_wdp(auction).winners
    assert alloc.welfare == pytest.approx(325e-8, rel=1e-12)  # was 3.2e-6, "proven optimal"
    assert alloc.solve.objective == pytest.approx(325e-8, rel=1e-9)  # scaled back
    assert alloc.solve.bound == pytest.approx(325e-8, rel=1e-9)


@pytest.mark.parametrize("factor", [1e-12, 1e-8, 1e-3, 1e6, 1e20])
def test_vcg_on_the_default_auction_scales_exactly(factor):
    auction = load_auction(DATA / "default.json")
    base, big = run_vcg(auction), run_vcg(scaled(auction, factor))
    assert big.is_optimal and big.winners == base.winners
    for b in auction.bidder_ids:
        assert big.payments[b] == pytest.approx(base.payments[b] * factor, rel=1e-9, abs=1e-12 * factor)


def test_values_of_1e20_are_proven_optimal():
    auction = CombinatorialAuction.from_bids(
        ["g", "h"], {"X": [(["g"], 3e20)], "Y": [(["h"], 2e20)], "Z": [(["g", "h"], 4e20)]}
    )
    outcome = run_vcg(auction)
    assert outcome.is_optimal  # was "feasible (not proven optimal)"
    assert outcome.payments == pytest.approx({"X": 2e20, "Y": 1e20, "Z": 0.0})


def test_pivot_cover_lp_shortcut_is_scale_free():
    auction = scaled(load_auction(DATA / "default.json"), 1e-9)
    _, optimum = likely_winners(auction, 2)
    if optimum is not None:  # an integral LP optimum is proven optimal at the true welfare
        assert optimum.welfare == pytest.approx(best_welfare(auction), rel=1e-12)
    split = run_vcg(auction, split=True, pivots=2)
    assert split.welfare == pytest.approx(325e-9, rel=1e-12) and split.is_optimal


@pytest.mark.parametrize("factor", [1e-12, 1e-9, 1e9])
def test_shill_audit_verdict_does_not_depend_on_the_unit(factor):
    auction = scaled(load_auction(DATA / "shill_example.json"), factor)
    report = audit_auction(auction)
    assert report.verdict is Verdict.SUSPECTS  # was ONE WINNER at 1e-9
    assert report.groups == (("3", "4"),)


def test_objective_scale_is_a_power_of_two_near_the_largest_value():
    auction = load_auction(DATA / "default.json")  # largest value 165
    assert objective_scale(auction) == 128.0
    model = build_wdp_model(auction)
    assert model.objective_scale.value == 128.0 and model.objective_scale.doc
    assert objective_scale(CombinatorialAuction.from_bids(["g"], {"a": [(["g"], 0.0)]})) == 1.0
    assert objective_scale(CombinatorialAuction.from_bids(["g"], {"a": [(["g"], 1.7e308)]})) == 2.0**1023


@settings(max_examples=30, deadline=None)
@given(xor_auctions(max_items=5, max_bidders=5), st.integers(-12, 12))
def test_property_vcg_commutes_with_a_power_of_ten_scale(auction, exponent):
    factor = 10.0**exponent
    big = scaled(auction, factor)
    base, out = run_vcg(auction), run_vcg(big)
    assert out.is_optimal
    w = best_welfare(big)
    tol = 1e-9 * factor * max(1.0, best_welfare(auction))
    assert out.welfare == pytest.approx(w, abs=tol)
    assert out.welfare == pytest.approx(base.welfare * factor, abs=tol)
    expected = vcg_payments_for(big, dict(out.allocation.bids))
    same_allocation = {i: x.id for i, x in out.allocation.bids.items()} == {
        i: x.id for i, x in base.allocation.bids.items()
    }
    for b in auction.bidder_ids:
        assert out.payments[b] == pytest.approx(expected[b], abs=tol)
        if same_allocation:  # with a tie the solver may pick another optimal allocation
            assert out.payments[b] == pytest.approx(base.payments[b] * factor, abs=tol)


# -- range -------------------------------------------------------------------------------
def test_values_beyond_the_solvers_resolution_are_refused():
    # Z wins item B and should pay Y's 0.5; with X's 1e16 on item A HiGHS charged 0 "proven"
    auction = CombinatorialAuction.from_bids(
        ["A", "B"], {"X": [(["A"], 1e16)], "Y": [(["B"], 0.5)], "Z": [(["B"], 0.75)]}
    )
    with pytest.raises(ValueRangeError, match=r"0\.5 to 1e\+16.*<= 1e\+06"):
        run_vcg(auction)
    with pytest.raises(ValueRangeError):
        audit_auction(auction)
    with pytest.raises(ValueRangeError):
        build_wdp_model(auction)


def test_the_guaranteed_range_is_inclusive_and_ignores_zeros():
    edge = CombinatorialAuction.from_bids(
        ["A", "B"], {"X": [(["A"], MAX_VALUE_RATIO)], "Y": [(["B"], 1.0)], "Z": [(["B"], 0.0)]}
    )
    assert check_value_range(edge) == MAX_VALUE_RATIO
    outcome = run_vcg(edge)
    assert outcome.is_optimal and outcome.payments == {"X": 0.0, "Y": 0.0, "Z": 0.0}
    # inside the range a small winner is charged exactly (Y pays Z's value)
    inside = CombinatorialAuction.from_bids(
        ["A", "B"], {"X": [(["A"], 1e6)], "Y": [(["B"], 1.5)], "Z": [(["B"], 1.25)]}
    )
    assert run_vcg(inside).payments["Y"] == 1.25
    beyond = CombinatorialAuction.from_bids(["A"], {"X": [(["A"], MAX_VALUE_RATIO * 1.01)], "Y": [(["A"], 1.0)]})
    with pytest.raises(ValueRangeError):
        check_value_range(beyond)


# -- overflow ------------------------------------------------------------------------------
def test_values_whose_sum_overflows_are_an_auction_error():
    with pytest.raises(AuctionError, match="sum to more than the largest double"):
        CombinatorialAuction.from_bids(["g", "h"], {"X": [(["g"], 1e308)], "Y": [(["h"], 1e308)]})
    with pytest.raises(AuctionError, match="too large for a double"):
        Bid("b", ("g",), 10**330)


def test_overflowing_files_are_refused_at_load_with_the_file_name(tmp_path):
    two = tmp_path / "two.json"
    two.write_text(json.dumps({"items": ["g", "h"], "bidders": [
        {"id": "X", "bids": [{"items": ["g"], "value": 1e308}]},
        {"id": "Y", "bids": [{"items": ["h"], "value": 1e308}]}]}))
    huge = tmp_path / "huge.json"
    huge.write_text('{"items": ["g"], "bidders": [{"id": "X", "bids": [{"items": ["g"], "value": 1'
                    + "0" * 330 + "}]}]}")
    cats = tmp_path / "huge.txt"
    cats.write_text(f"goods 1\nbids 1\ndummy 0\n\n0\t1{'0' * 330}\t0\t#\n")
    for path in (two, huge, cats):
        with pytest.raises(InstanceFileError, match=str(path.name)):
            load_auction(path)


# -- CLI ---------------------------------------------------------------------------------
def _winners(output: str) -> list[str]:
    rows = [line.split("│") for line in output.splitlines() if "│" in line]
    return [r[0].strip() + "/" + r[1].strip() for r in rows]


@pytest.mark.parametrize("name,factor", [("default", 1e-8), ("default", 1e12), ("shill_example", 1e-9)])
def test_cli_solve_prints_the_same_winners_at_any_scale(tmp_path, name, factor):
    src = DATA / f"{name}.json"
    runner = CliRunner()
    plain = runner.invoke(cli, ["solve", str(src)])
    small = runner.invoke(cli, ["solve", str(write_scaled(src, factor, tmp_path / f"{name}.json"))])
    assert plain.exit_code == 0 and small.exit_code == 0, small.output
    assert "status: optimal (proven, gap 0)" in small.output
    assert _winners(small.output) == _winners(plain.output) and _winners(plain.output)


def test_cli_overflow_file_is_one_error_line(tmp_path):
    bad = tmp_path / "overflow.json"
    bad.write_text(json.dumps({"items": ["g", "h"], "bidders": [
        {"id": "X", "bids": [{"items": ["g"], "value": 1e308}]},
        {"id": "Y", "bids": [{"items": ["h"], "value": 1e308}]}]}))
    res = CliRunner().invoke(cli, ["solve", str(bad)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}:"), res.output
    assert "Traceback" not in res.output and not isinstance(res.exception, OverflowError)


def test_cli_wide_range_is_one_error_line(tmp_path):
    bad = tmp_path / "wide.json"
    bad.write_text(json.dumps({"items": ["A", "B"], "bidders": [
        {"id": "X", "bids": [{"items": ["A"], "value": 1e16}]},
        {"id": "Y", "bids": [{"items": ["B"], "value": 0.5}]},
        {"id": "Z", "bids": [{"items": ["B"], "value": 0.75}]}]}))
    res = CliRunner().invoke(cli, ["solve", str(bad)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: bid values range from 0.5 to 1e+16")

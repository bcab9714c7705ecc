"""``mechopt payments learn / evaluate MODEL / reproduce`` and ``mechopt bench learn`` end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mechopt.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MECHOPT_CACHE", str(tmp_path / "cache"))

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_learn_save_and_evaluate_model(run, tmp_path):
    out = tmp_path / "models" / "si2"
    result = run("payments", "learn", "--domain", "single-item", "-n", "2", "--train", "80", "--validation", "200",
                 "--test", "200", "--C", "1e3,1e5", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [g["C"] for g in summary["grid"]] == [1e3, 1e5]
    learned, second = summary["test"]
    assert learned["payment"] == "learned" and second["payment"] == "second-price"
    assert learned["accuracy"] > 0.9 and learned["regret"] < 0.01
    assert summary["saved"] == str(out) + ".json"
    manifest = json.loads((tmp_path / "models" / "si2.json").read_text())
    assert manifest["info"]["seeds"] == {"train": 0, "validation": 10000, "test": 20000}
    assert manifest["info"]["metrics"]["test"]["regret"] == learned["regret"]

    again = run("payments", "evaluate", out, "--test", "200", "--seed", "20000", "--json")
    assert again.exit_code == 0, again.output
    rows = json.loads(again.output)["rows"]
    assert rows[0]["regret"] == pytest.approx(learned["regret"]) and rows[1]["payment"] == "second-price"
    shifted = json.loads(run("payments", "evaluate", out, "--test", "200", "--offset", "0.5", "--json").output)
    assert shifted["offset"] == 0.5

    human = run("payments", "evaluate", out, "--test", "50")
    assert "si2" in human.output and "learned" in human.output and "second-price" in human.output

    # an edited model file is one line and exit code 1
    manifest["fitted"]["w1"] = 0.01
    (tmp_path / "models" / "si2.json").write_text(json.dumps(manifest))
    bad = run("payments", "evaluate", out, "--test", "50")
    assert bad.exit_code == 1 and "checksum mismatch" in bad.output and "Traceback" not in bad.output


def test_learn_rbf_auction_without_saving(run):
    result = run("payments", "learn", "--domain", "mmca", "--rule", "greedy", "-n", "2", "--items", "2",
                 "--bundles", "2", "--train", "40", "--validation", "50", "--test", "50", "--C", "100",
                 "--rbf-gamma", "0.1", "--attribute", "phi2", "--null-loss", "2", "--no-save")
    assert result.exit_code == 0, result.output
    assert "model selection" in result.output and "vcg" in result.output and "saved" not in result.output


@pytest.mark.parametrize("args, message", [
    (("--domain", "single-item", "--kernel", "linear", "--rbf-gamma", "1"), "--rbf-gamma applies"),
    (("--domain", "assignment", "--attribute", "phi2"), "applies to auctions only"),
    (("--domain", "assignment", "--null-loss", "2"), "apply to auctions only"),
    (("--domain", "mmca", "--attribute", "leximin"), "applies to --domain assignment only"),
    (("--domain", "single-item", "--gamma", "0.5"), "applies to --domain mmca only"),
    (("--domain", "single-item", "--C", "-1"), "C values must be positive"),
    (("--domain", "mmca", "--rule", "egalitarian"), "not defined for domain"),
    (("--domain", "mmca", "--alpha", "2"), "alpha"),
])
def test_learn_bad_input_is_one_line(run, args, message):
    result = run("payments", "learn", *args, "--train", "10", "--validation", "10", "--test", "0", "--no-save")
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


def test_upgrade_command_converts_format_1_and_refuses_edited_files(run, tmp_path):
    import base64
    import hashlib

    out = tmp_path / "si2"
    assert run("payments", "learn", "--domain", "single-item", "-n", "2", "--train", "40", "--validation", "40",
               "--test", "0", "--C", "1e3", "--out", out, "--json").exit_code == 0
    path = tmp_path / "si2.json"
    manifest = json.loads(path.read_text())
    data = base64.b64decode(manifest["arrays"]["npz_base64"])
    (tmp_path / "si2.npz").write_bytes(data)
    legacy = {k: v for k, v in manifest.items() if k != "sha256"}
    legacy.update(version=1, arrays={"file": "si2.npz", "sha256": hashlib.sha256(data).hexdigest(),
                                     "shapes": manifest["arrays"]["shapes"]})
    path.write_text(json.dumps(legacy))
    refused = run("payments", "evaluate", out, "--test", "20")
    assert refused.exit_code == 1 and "mechopt payments upgrade" in refused.output
    result = run("payments", "upgrade", path)
    assert result.exit_code == 0 and "upgraded" in result.output and not (tmp_path / "si2.npz").exists()
    assert json.loads(path.read_text()) == manifest
    assert "up to date" in run("payments", "upgrade", path).output
    path.write_text(path.read_text().replace('"rule": "optimal"', '"rule": "greedy"'))
    edited = run("payments", "upgrade", path)
    assert edited.exit_code == 1 and "checksum mismatch" in edited.output


def test_evaluate_model_refuses_domain_options(run, tmp_path):
    result = run("payments", "evaluate", tmp_path / "x.json", "--domain", "mmca")
    assert result.exit_code == 2 and "cannot be combined with MODEL" in result.output
    missing = run("payments", "evaluate", tmp_path / "x.json")
    assert missing.exit_code == 1 and "no payment-rule manifest" in missing.output
    assert "--offset applies to a MODEL" in run("payments", "evaluate", "--domain", "mmca", "--offset", "1").output


def test_reproduce_resumes_and_prints_tables(run, tmp_path):
    out = tmp_path / "repro"
    assert "no results" in run("payments", "reproduce", "single-item", "--out", out, "--table-only").output
    first = run("payments", "reproduce", "single-item", "--agents", "2", "--train", "60", "--out", out, "--json")
    assert first.exit_code == 0, first.output
    rows = json.loads(first.output)["rows"]
    assert [r["attribute"] for r in rows] == ["phi1", "phi2"]
    assert all(r["paper"]["accuracy"] > 90 and r["test"]["accuracy"] > 0.9 for r in rows)
    assert all((out / "single-item" / (r["key"] + ".json")).exists() for r in rows)
    table = run("payments", "reproduce", "single-item", "--out", out, "--table-only")
    assert "| 2 | phi1 |" in table.output and "99.7" in table.output
    # --fresh with a filter recomputes those rows and keeps the others
    again = run("payments", "reproduce", "single-item", "--agents", "3", "--train", "60", "--out", out, "--fresh")
    assert again.exit_code == 0, again.output
    saved = json.loads((out / "single-item.json").read_text())["rows"]
    assert sorted((r["settings"]["n_agents"], r["attribute"]) for r in saved) == [
        (2, "phi1"), (2, "phi2"), (3, "phi1"), (3, "phi2")]


def test_bench_learn_small(run):
    result = run("bench", "learn", "--sizes", "20,40", "--agents", "2", "--items", "2", "--bundles", "2",
                 "--test", "50", "--rbf-gamma", "0.1", "--C", "100", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["size"] for r in rows] == [20, 40]
    assert all(r["seconds"] > 0 and r["iterations"] >= 1 and 0 <= r["regret"] for r in rows)


def test_cli_selection_criteria_match_the_library():
    from mechopt.cli.payments.learn import SELECT_BY as cli_choices
    from mechopt.learning.train import SELECT_BY

    assert cli_choices == SELECT_BY


def test_assignment_experiment_plans_both_maps_and_tabulates_them():
    from mechopt.benchmarks.payments_reproduce import markdown_table, plan_experiment

    plans = plan_experiment("assignment", agents=[4])
    assert [p.attribute for p in plans] == [None, "leximin"]
    assert [p.key for p in plans] == ["assignment-egalitarian-n4-rbf-l500", "assignment-egalitarian-n4-leximin-rbf-l500"]
    base = {p: {"regret": 0.04, "ir_violation": 0.01} for p in ("vcg", "tot-vcg", "eg-vcg", "vcg-paper")}
    rows = [{"settings": {"n_agents": 4}, "attribute": None, "baselines": base,
             "test": {"accuracy": 0.7, "regret": 0.052, "ir_violation": 0.01}},
            {"settings": {"n_agents": 4}, "attribute": "leximin", "baselines": base,
             "test": {"accuracy": 0.79, "regret": 0.0296, "ir_violation": 0.02}}]
    table = markdown_table("assignment", rows).splitlines()
    assert len(table) == 3
    assert table[2] == ("| 4 | 70.0 / 0.052 / 0.01 | 79.0 / 0.030 / 0.02 | 0.040 / 0.01 | 0.040 / 0.01 | "
                        "0.040 / 0.01 | 0.040 / 0.01 |")


def test_learn_assignment_defaults_to_the_leximin_map_saves_and_reloads(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("payments", "learn", "--domain", "assignment", "--rule", "optimal", "-n", "3",
                 "--train", "40", "--validation", "40", "--test", "40", "--C", "100", "--rbf-gamma", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["model"] == {"kind": "assignment", "normalize": False, "sort": False, "attribute": "leximin"}
    assert summary["saved"] == "runs/payments/assignment-optimal-n3-leximin-rbf-l40.json"  # not models/
    learned = summary["test"][0]
    again = json.loads(run("payments", "evaluate", summary["saved"][:-5], "--test", "40", "--seed", "20000",
                           "--json").output)
    assert again["rows"][0]["regret"] == pytest.approx(learned["regret"])
    paper = json.loads(run("payments", "learn", "--domain", "assignment", "--rule", "optimal", "-n", "3", "--attribute",
                           "psi", "--train", "40", "--validation", "40", "--test", "0", "--C", "100",
                           "--rbf-gamma", "1", "--json").output)
    assert paper["model"] == {"kind": "assignment", "normalize": False, "sort": False}
    assert paper["saved"].endswith("assignment-optimal-n3-psi-rbf-l40.json")

"""Every command's help is complete: each option has a help line, each command's help names
the exit codes, defaults are shown the same way, and the text renders literally."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mechopt.cli import cli


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = list(commands())
IDS = [" ".join(path) or "mechopt" for path, _ in ALL]


@pytest.mark.parametrize("path, command", ALL, ids=IDS)
def test_every_option_has_help_and_defaults_are_shown(path, command):
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help"
        unset = param.default is None or repr(param.default).endswith("UNSET")  # click >= 8.3: a sentinel
        has_default = not unset and not param.is_flag and not param.multiple
        if has_default:
            assert param.show_default or "[default:" in param.help, \
                f"{' '.join(path)} {param.opts[0]}: default {param.default!r} not shown"


@pytest.mark.parametrize("path, command", ALL, ids=IDS)
def test_every_help_mentions_the_exit_codes(path, command):
    res = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "Exit codes: 0" in res.output
    assert "%%" not in res.output
    assert "[default:" not in res.output or "[default: [" not in res.output


def test_every_bench_command_has_markdown():
    bench = cli.commands["bench"]
    for name, command in bench.commands.items():
        assert any("--markdown" in p.opts for p in command.params), f"bench {name} has no --markdown"


@pytest.mark.parametrize("x, text", [
    (0, "0"), (-0.0, "0"), (120, "120"), (3923.418014, "3,923.418014"), (0.1 + 0.2, "0.3"),
    (1e25, "1e+25"), (3.25e-6, "3.25e-06"), (0.549201, "0.549201"), (-5.5, "-5.5"),
])
def test_money_is_scale_aware(x, text):
    from mechopt.cli.report import money

    assert money(x) == text


def test_not_proven_is_said_once():
    from mechopt.cli.report import not_proven

    assert not_proven("time limit (feasible, not proven optimal)").count("NOT PROVEN") == 1
    assert not_proven("error") == "ERROR — NOT PROVEN OPTIMAL"


def test_settings_are_readable_not_a_dict():
    from mechopt.cli.report import settings_text

    text = settings_text({"kind": "combinatorial", "normalize": True, "kernel": {"name": "rbf", "gamma": 0.5}})
    assert text == "kind combinatorial, normalize yes, kernel.name rbf, kernel.gamma 0.5"
    assert "{" not in text

"""JSON and CATS files: round trips, every bundled CATS file, and each kind of bad file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings

from mechopt.io import InstanceFileError, InstanceFileWarning, load_auction, read_cats, save_auction

from strategies import xor_auctions

CATS_FILES = sorted((Path(__file__).resolve().parent.parent / "data" / "cats").glob("*.txt"))


def test_all_bundled_cats_files_load():
    assert len(CATS_FILES) == 20
    for path in CATS_FILES:
        auction = load_auction(path)
        text = path.read_text()
        header = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
                  if line.split() and line.split()[0] in ("goods", "bids", "dummy")}
        assert len(auction.items) == header["goods"]
        assert auction.n_bids == header["bids"]
        n_multi = sum(len(b.bids) > 1 for b in auction.bidders)
        assert n_multi <= header["dummy"]


def test_cats_dummy_goods_make_xor_bidders(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("goods 2\nbids 4\ndummy 1\n0\t5\t0\t2\t#\n1\t6\t1\t2\t#\n2\t3\t0\t#\n3\t4\t1\t#\n")
    auction = read_cats(path)
    assert auction.bidder_ids == ("b0", "b2", "b3")
    assert [b.id for b in auction.bidder("b0").bids] == ["0", "1"]
    assert auction.items == ("0", "1")


@settings(max_examples=40, deadline=None)
@given(xor_auctions())
def test_json_round_trip(tmp_path_factory, auction):
    path = tmp_path_factory.mktemp("j") / "a.json"
    save_auction(auction, path)
    assert load_auction(path) == auction.__class__(auction.items, auction.bidders, name=auction.name or "a")


@settings(max_examples=40, deadline=None)
@given(xor_auctions())
def test_cats_round_trip_keeps_bundles_values_and_xor_structure(tmp_path_factory, auction):
    path = tmp_path_factory.mktemp("c") / "a.txt"
    save_auction(auction, path)
    back = load_auction(path)
    index = {item: str(k) for k, item in enumerate(auction.items)}
    want = sorted(sorted((tuple(sorted(index[g] for g in bid.items)), bid.value) for bid in b.bids) for b in auction.bidders)
    got = sorted(sorted((tuple(sorted(bid.items)), bid.value) for bid in b.bids) for b in back.bidders)
    assert got == want


def test_bundled_cats_file_round_trips(tmp_path):
    original = load_auction(CATS_FILES[0])
    save_auction(original, tmp_path / "x.txt")
    again = load_auction(tmp_path / "x.txt")
    assert [sorted((tuple(sorted(b.items)), b.value) for b in bd.bids) for bd in original.bidders] == [
        sorted((tuple(sorted(b.items)), b.value) for b in bd.bids) for bd in again.bidders
    ]


HEADER = "goods 3\nbids 1\ndummy 0\n"


@pytest.mark.parametrize(
    "body, message",
    [
        (HEADER + "0\t5\t0\t1\n", ":4: bid line does not end with '#'"),
        (HEADER + "0\tabc\t0\t#\n", ":4: price 'abc' is not a number"),
        (HEADER + "0\t-5\t0\t#\n", ":4: price -5 is negative"),
        (HEADER + "0\tnan\t0\t#\n", ":4: price 'nan' is not finite"),
        (HEADER + "0\t5\t0\tx\t#\n", ":4: good 'x' is not an integer"),
        (HEADER + "0\t5\t7\t#\n", ":4: good 7 out of range"),
        (HEADER + "0\t5\t1\t1\t#\n", ":4: bid '0' names item '1' twice"),
        (HEADER + "0\t#\n", ":4: bid line has no price"),
        (HEADER + "0\t5\t#\n", ":4: bid 0 names no real good"),
        (HEADER + "0\t5\t0\t#\n0\t6\t1\t#\n", ":5: bid id 0 already used on line 4"),
        ("goods 3\nbids 1\ndummy 1\n0\t5\t3\t#\n", ":4: bid 0 names no real good"),
        ("goods 3\nbids 1\ndummy 2\n0\t5\t0\t3\t4\t#\n", ":4: bid names two dummy goods"),
        ("0\t5\t0\t#\n", ":1: bid before the 'goods' header line"),
        ("goods x\n", ":1: goods count 'x' is not an integer"),
        ("goods 3\ngoods 3\n", ":2: header line 'goods' appears twice"),
        ("goods 3\nbids 1\n0\t5\t0\t#\n", "missing header line 'dummy <count>'"),
        (HEADER, "the file holds no bids"),
        ("goods 0\nbids 1\ndummy 1\n0\t5\t0\t#\n", "'goods 0'"),
        (HEADER + "hello world\n", ":4: unexpected line 'hello world'"),
        (HEADER + "maximums 1 1 1\n", ":4: multi-unit CATS files"),
        (HEADER + "0\t5\t0\t#\ngoods 4\n", ":5: header line 'goods' after the first bid"),
    ],
)
def test_malformed_cats_lines_are_reported_with_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(InstanceFileError) as info:
        load_auction(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_cats_bid_count_mismatch_warns_and_trusts_the_body(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("goods 2\nbids 5\ndummy 0\n0\t5\t0\t#\n1\t6\t1\t#\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auction = load_auction(path)
    assert auction.n_bids == 2
    assert any(issubclass(w.category, InstanceFileWarning) and "header says 5 bids" in str(w.message) for w in caught)


def _json(tmp_path, data) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


GOOD = {"items": ["A", "B"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": 1}]}]}


@pytest.mark.parametrize(
    "data, message",
    [
        ("{not json", ":1:2: invalid JSON"),
        ('{"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": NaN}]}]}', "NaN is not a valid number"),
        ([], "the top level must be a JSON object"),
        ({"items": ["A"]}, "missing key 'bidders'"),
        ({**GOOD, "biders": []}, "unknown key 'biders'"),
        ({**GOOD, "items": "AB"}, "'items' must be a list"),
        ({"items": ["A"], "bidders": [{"bids": []}]}, "bidder #0 has no 'id'"),
        ({"items": ["A"], "bidders": [{"id": "x"}]}, "bidder 'x' has no 'bids' list"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": []}]}, "bidder 'x' has no bids"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"]}]}]}, "bid #0 has no 'value'"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": "3"}]}]}, "value '3' is not a number"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["Q"], "value": 3}]}]}, "names unknown item 'Q'"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": [], "value": 3}]}]}, "has an empty bundle"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": -3}]}]}, "negative value -3"),
        ({"items": [], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": 3}]}]}, "the auction has no items"),
        ({"items": ["A"], "bidders": []}, "the auction has no bidders"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": 1}]}, {"id": "x", "bids": [{"items": ["A"], "value": 1}]}]}, "bidder id 'x' is used twice"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"id": "b", "items": ["A"], "value": 1}]}, {"id": "y", "bids": [{"id": "b", "items": ["A"], "value": 1}]}]}, "bid id 'b' is used by bidder 'x' and bidder 'y'"),
        ({"items": ["A"], "bidders": [{"id": "x", "bids": [{"items": ["A"], "value": 1, "price": 2}]}]}, "unknown key 'price'"),
    ],
)
def test_malformed_json_is_reported(tmp_path, data, message):
    path = _json(tmp_path, data)
    with pytest.raises(InstanceFileError) as info:
        load_auction(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InstanceFileError, match="no such file"):
        load_auction(tmp_path / "nope.json")
    with pytest.raises(InstanceFileError, match="is a directory"):
        load_auction(tmp_path)


def test_binary_garbage_is_refused(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InstanceFileError, match="cannot read"):
        load_auction(path)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from mechopt.io.atomic import atomic_write_text

    path = tmp_path / "x.txt"
    atomic_write_text(path, "hello")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    atomic_write_text(path, "again")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "again"


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path):
    from mechopt.io.atomic import atomic_write_text

    target = tmp_path / "real" / "data.txt"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text() == "new"
    assert not list(tmp_path.rglob(".*tmp"))


def _no_rename(monkeypatch):
    """Make any rename (or temporary file) an error, so a buggy write cannot replace a device."""
    import os
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("a device or FIFO must be written in place, not renamed over")

    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def test_atomic_write_to_dev_null_writes_in_place(monkeypatch):
    import os
    import stat

    from mechopt.io.atomic import atomic_write_bytes

    _no_rename(monkeypatch)
    atomic_write_bytes("/dev/null", b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_atomic_write_to_a_fifo_writes_in_place(tmp_path, monkeypatch):
    import os
    import stat
    import threading

    from mechopt.io.atomic import atomic_write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    _no_rename(monkeypatch)
    atomic_write_text(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)

"""Every pointer into docs/ resolves, and nothing points outside the repository.

Code and tests cite the notes as ``docs/<file>.md`` or ``docs/<file>.md#<anchor>``, where the
anchor is the GitHub slug of a heading in that file.  The docs link to each other with
relative links ``<file>.md#<anchor>``.  Both kinds are checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# built from pieces so that this file does not match its own search
FORBIDDEN = ("references" + ".md", "../" + "shared", "/work/" + "shared")

POINTER = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)(#[A-Za-z0-9_-]+)?(\s*§)?")
LINK = re.compile(r"\]\(([A-Za-z0-9_./-]+\.md)?(#[A-Za-z0-9_-]+)?\)")


def _sources() -> list[Path]:
    files = sorted((ROOT / "mechopt").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py"))
    return [*files, ROOT / "README.md"]


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _pointers() -> list[tuple[str, str, str | None, bool]]:
    found = []
    for path in _sources():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for m in POINTER.finditer(line):
                where = f"{path.relative_to(ROOT)}:{lineno}"
                found.append((where, m.group(1), m.group(2), m.group(3) is not None))
    return found


def test_docs_exist():
    assert (DOCS / "README.md").is_file()
    assert len(list(DOCS.glob("*.md"))) >= 2


def test_code_and_tests_point_into_docs():
    assert len(_pointers()) >= 30  # the code cites the notes; the regex must keep finding them


@pytest.mark.parametrize("where, name, anchor, section_sign", _pointers(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_pointer_resolves(where, name, anchor, section_sign):
    target = DOCS / name
    assert target.is_file(), f"{where}: docs/{name} does not exist"
    assert not section_sign, (
        f"{where}: write the section as a heading anchor, docs/{name}#heading, not with '§'"
    )
    if anchor:
        assert anchor[1:] in _anchors(target), (
            f"{where}: docs/{name} has no heading with anchor {anchor} "
            f"(known: {', '.join(sorted(_anchors(target)))})"
        )


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_between_docs_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    for m in LINK.finditer(text):
        name, anchor = m.group(1), m.group(2)
        if name is None and anchor is None:
            continue
        target = doc.parent / name if name else doc
        assert target.is_file(), f"{doc.name}: link to missing {name}"
        if anchor and target.suffix == ".md":
            assert anchor[1:] in _anchors(target), f"{doc.name}: no heading {anchor} in {target.name}"


def test_nothing_points_outside_the_repository():
    offenders = []
    for path in [*_sources(), *sorted(DOCS.glob("*.md"))]:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(bad in line for bad in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, "pointers outside the repository:\n" + "\n".join(offenders)


def test_readme_points_to_the_docs_index():
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_slug_matches_github():
    assert _slug("MIP gap 0") == "mip-gap-0"
    assert _slug("VCG payments (Clarke pivot)") == "vcg-payments-clarke-pivot"
    assert _slug("Payments and IR fixes") == "payments-and-ir-fixes"

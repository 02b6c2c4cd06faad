"""Every ``calibration.md §N <row>`` citation resolves to docs/calibration.md.

A citation names a section (``§N`` or ``section N``) and, optionally, a row: the text after
``§N`` up to the first bracket, comma, semicolon, colon, quote or full stop (or, when it
starts with a quote, the quoted text). The row must start with a name of that section (the
first cell of a table row, a sub-heading or a bold label), or the row's leading words, up
to the first figure, must start such a name. Case and punctuation are ignored. A bare
``§N`` anywhere in the project means a section of docs/calibration.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "calibration.md"

# files that cite calibration.md (configs/ is a link into src/hubsim/data, read once)
SCANNED = ("src", "configs", "experiments", "notebooks", "tests", "docs", "benchmarks")
SUFFIXES = {".py", ".yaml", ".yml", ".md"}

CITATION = re.compile(
    r"calibration\.md[`'\"*]*[\s#]*(?:§|section\s+)(?P<a>\d+)|§(?P<b>\d+)", re.IGNORECASE
)
BAD_FORM = re.compile(r"calibration\.md[`'\"]*\s+(\d+)\b")
DELIM = re.compile(r"[()\[\]{},;:\"'`|]|\.(?:\s|$)")
QUOTES = "\"'“‘"
# bold labels that are not rows
BOILERPLATE = {"Sources", "Not found", "Not verified"}


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _sections() -> dict[int, dict]:
    out: dict[int, dict] = {}
    cur = None
    header_next = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## §(\d+) (.+)$", line)
        if m:
            cur = {"title": m[2], "names": [words(m[2])], "text": []}
            out[int(m[1])] = cur
            header_next = True
            continue
        if line.startswith("## "):
            cur = None
            continue
        if cur is None:
            continue
        cur["text"].append(line)
        if line.startswith("### "):
            cur["names"].append(words(line[4:]))
            header_next = True
        elif line.startswith("|"):
            first = line.strip("|").split("|")[0].strip()
            if set(first) <= set("-: "):
                continue  # the separator row
            if header_next:  # the header row of a table
                header_next = False
                continue
            cur["names"].append(words(first))
        else:
            if line.strip():
                header_next = True
            for bold in re.findall(r"\*\*([^*]+)\*\*", line):
                if bold.rstrip(".") not in BOILERPLATE:
                    cur["names"].append(words(bold))
    return out


SECTIONS = _sections()


def _row_text(rest: str) -> str:
    rest = rest.lstrip()
    if rest[:1] in QUOTES:
        end = re.search(r"[\"'”’]", rest[1:])
        return rest[1 : 1 + end.start()] if end else rest[1:]
    m = DELIM.search(rest)
    return rest[: m.start()] if m else rest


def _leading_words(row: str) -> list[str]:
    """The row's words before its first figure (a token whose first letter or digit is a digit)."""
    out = []
    for tok in row.split():
        first = re.search(r"\w", tok)
        if first and first.group().isdigit():
            break
        out.extend(words(tok))
    return out


def _number(word: str | None) -> bool:
    return word is not None and word[0].isdigit()


def resolves(section: int, row: str) -> bool:
    """Whether ``row`` names a row of ``section`` (see the module docstring)."""
    names = SECTIONS[section]["names"]
    w, lead = words(row), _leading_words(row)
    if not lead:
        return True  # the section alone, or the section and a figure
    for name in names:
        if name and w[: len(name)] == name:
            return True  # the whole name, then perhaps the cited figure
        if lead == name[: len(lead)]:
            # the row's leading words start the name; a figure right after them (a year,
            # a step number) must then be the name's own
            after_w = w[len(lead)] if len(w) > len(lead) else None
            after_n = name[len(lead)] if len(name) > len(lead) else None
            if not (_number(after_w) and _number(after_n) and after_w != after_n):
                return True
    return False


def _files() -> list[Path]:
    seen: dict[Path, Path] = {}
    for folder in SCANNED:
        for p in sorted((ROOT / folder).rglob("*")):
            if p.suffix in SUFFIXES and p.is_file() and ".venv" not in p.parts:
                seen.setdefault(p.resolve(), p)
    seen.setdefault((ROOT / "README.md").resolve(), ROOT / "README.md")
    skip = {DOC.resolve(), Path(__file__).resolve()}
    return [p for r, p in sorted(seen.items()) if r not in skip]


def _citations() -> list[tuple[str, int, str]]:
    out = []
    for p in _files():
        text = p.read_text(encoding="utf-8")
        for m in CITATION.finditer(text):
            n = int(m["a"] or m["b"])
            line_end = text.find("\n", m.end())
            rest = text[m.end() : line_end if line_end >= 0 else len(text)]
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{p.relative_to(ROOT)}:{line}", n, _row_text(rest)))
    return out


CITATIONS = _citations()


def test_sections_are_numbered_from_one_without_gaps():
    assert sorted(SECTIONS) == list(range(1, len(SECTIONS) + 1))
    assert len(SECTIONS) >= 8


def test_the_project_cites_calibration_md():
    assert len(CITATIONS) > 100
    assert {n for _, n, _ in CITATIONS} == set(range(1, 10))


def test_every_citation_resolves():
    problems = []
    for where, n, row in CITATIONS:
        if n not in SECTIONS:
            problems.append(f"{where}: §{n} is not a section of docs/calibration.md")
        elif not resolves(n, row):
            problems.append(
                f"{where}: §{n} {row.strip()!r} is not a row of docs/calibration.md §{n} "
                f"({SECTIONS[n]['title']})"
            )
    assert not problems, "\n".join(problems)


def test_sections_are_cited_as_section_signs():
    bad = []
    for p in _files():
        text = p.read_text(encoding="utf-8")
        for m in BAD_FORM.finditer(text):
            bad.append(f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}")
        if "shared/calibration.md" in text:
            bad.append(f"{p.relative_to(ROOT)}: cites the developers' shared/calibration.md")
    assert not bad, bad


@pytest.mark.parametrize(
    ("section", "row", "ok"),
    [
        (7, "Drop-out 35% (25-50%)", True),
        (7, "Step-4 sessions 20 ", True),
        (7, "Recovery / reliable improvement 50% / 67% ", True),
        (2, "Lamb 2021 NHS CHECK", True),
        (8, "HSMA model", True),
        (4, "", True),
        (7, "6 / 10 / 20", True),
        (7, "uptake 1.0%", False),
        (3, "Drop-out", False),
        (2, "Lamb 2020", False),
        (6, "Bisson", True),
        (6, "Cochrane", False),
    ],
)
def test_the_matching_rule(section, row, ok):
    assert resolves(section, row) is ok


# ----------------------------------------------------------- the seed paper (docs/paper.md)
PAPER = ROOT / "docs" / "paper.md"
PAPER_CITATION = re.compile(r"Allsopp 2024 (?P<name>Table \d+|[A-Z][^;,()\"'`.:]*)")


def _paper_names() -> list[list[str]]:
    text = PAPER.read_text(encoding="utf-8")
    return [words(h) for h in re.findall(r"^#{2,3} (.+)$", text, re.M)]


def _paper_citations() -> list[tuple[str, str]]:
    out = []
    for p in _files():
        text = p.read_text(encoding="utf-8")
        for m in PAPER_CITATION.finditer(text):
            where = f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            name = m["name"].strip()
            first, _, second = (
                name.partition(" and ")
                if name.startswith("Table")
                else (
                    name,
                    "",
                    "",
                )
            )
            out.append((where, first))
            if second[:1].isupper():  # "Table 3 and Target population"
                out.append((where, second))
    return out


def test_every_paper_citation_names_a_table_or_section_of_paper_md():
    names = _paper_names()
    cites = _paper_citations()
    assert len(cites) > 50
    bad = []
    for where, name in cites:
        w = words(name)
        if w[:1] == ["table"]:
            ok = w[:2] in names
        else:
            ok = any(n[: len(w)] == w or w[: len(n)] == n for n in names)
        if not ok:
            bad.append(f"{where}: Allsopp 2024 {name!r} is not a table or section of docs/paper.md")
    assert not bad, "\n".join(bad)

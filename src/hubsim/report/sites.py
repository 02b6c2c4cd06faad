"""The four mapped hubs side by side, as the paper's Tables 2-6 show them.

Everything printed is read from the configuration files, so a reader can check each
figure against Allsopp et al. 2024.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd

from hubsim.config.schema import ELIGIBILITY_ROWS, INSTRUMENTS, ServiceConfig

SITES_COLUMNS = ["table", "item"]

_ELIGIBILITY_LABELS = {
    "over_18": "Over 18 (health & care staff)",
    "age_16_17": "16-17 years (health & care staff)",
    "family_members": "Family members",
    "ambulance": "Ambulance Service",
    "police_fire": "Police/Fire",
    "education": "Education",
    "third_sector": "3rd Sector",
    "vcse": "VCSE",
}
_INSTRUMENT_LABELS = {
    "phq9": "PHQ-9",
    "gad7": "GAD-7",
    "wsas": "WSAS",
    "audit": "AUDIT",
    "itq": "ITQ",
    "pcl5": "PCL-5",
}
_ROLE_ORDER = [
    "clinical_leadership",
    "manager",
    "therapists",
    "pharmacist",
    "low_intensity",
    "research",
    "admin",
]


def _fmt_wte(x: float) -> str:
    return f"{x:g}"


def sites_table(configs: Sequence[ServiceConfig]) -> pd.DataFrame:
    """A wide frame: one row per figure (``table``, ``item``), one column per site.

    Parameters
    ----------
    configs : sequence of ServiceConfig
        The sites, in the column order wanted.

    Returns
    -------
    pandas.DataFrame
        Columns ``table``, ``item`` and one per config name; all cells are text.
    """
    names = [c.name for c in configs]
    rows: list[dict[str, str]] = []

    def add(table: str, item: str, values: Sequence[str]) -> None:
        rows.append({"table": table, "item": item, **dict(zip(names, values, strict=True))})

    add(
        "Table 2",
        "Health and social care staff in region",
        [f"{c.region.in_scope_staff:,}" for c in configs],
    )

    for row in ELIGIBILITY_ROWS:
        vals = []
        for c in configs:
            e = next(e for e in c.service.target_population.eligibility if e.group == row)
            if not e.in_scope:
                vals.append("Not in scope")
            else:
                vals.append("✓" + (f" ({e.condition})" if e.condition else ""))
        add("Table 3", _ELIGIBILITY_LABELS[row], vals)
    add(
        "Table 3",
        "Family members defined as",
        [c.service.target_population.family_member_definition or "-" for c in configs],
    )

    group_ids: list[str] = []
    for c in configs:
        for g in c.service.target_population.groups:
            if g.id not in group_ids:
                group_ids.append(g.id)
    for gid in group_ids:
        vals = []
        for c in configs:
            g = next((g for g in c.service.target_population.groups if g.id == gid), None)
            vals.append(g.opens.strftime("%b %Y") if g else "-")
        add("Results: opening", f"Opens to {gid.replace('_', ' ')}", vals)

    role_ids = list(_ROLE_ORDER)
    for c in configs:
        for r in c.service.workforce.roles:
            if r.id not in role_ids:
                role_ids.append(r.id)
    for rid in role_ids:
        present = [c for c in configs if any(r.id == rid for r in c.service.workforce.roles)]
        if not present:
            continue
        ref = present[0].service.workforce.role(rid)
        vals = []
        for c in configs:
            try:
                vals.append(_fmt_wte(c.service.workforce.role(rid).wte))
            except KeyError:
                vals.append("-")
        add("Table 4", f"{ref.label} (band {ref.band_range}) WTE", vals)
    add(
        "Table 4", "Total WTEs", [_fmt_wte(c.service.workforce.reported_total_wte) for c in configs]
    )
    add(
        "Table 5",
        "Band 6 or higher (reported, Table 5)",
        [
            f"{100 * c.service.workforce.qualified_share_reported:.2f}%"
            if c.service.workforce.qualified_share_reported is not None
            else "-"
            for c in configs
        ],
    )
    vals = []
    for c in configs:
        lo, hi = c.service.workforce.qualified_share_bounds
        vals.append(
            f"{100 * lo:.1f}%" if abs(hi - lo) < 1e-9 else f"{100 * lo:.1f}-{100 * hi:.1f}%"
        )
    add("Table 5", "Band 6 or higher (derived from Table 4 bands)", vals)

    for ins in INSTRUMENTS:
        add(
            "Table 6",
            _INSTRUMENT_LABELS[ins],
            ["✓" if ins in c.interventions.screening.measures else "no" for c in configs],
        )
    q_names: list[str] = []
    for c in configs:
        for q in c.interventions.screening.other_questions:
            if q.name not in q_names:
                q_names.append(q.name)
    for qn in q_names:
        vals = []
        for c in configs:
            q = next((q for q in c.interventions.screening.other_questions if q.name == qn), None)
            if q is None:
                vals.append("no")
            else:
                vals.append("✓" + (f" (since {q.since.strftime('%B %Y')})" if q.since else ""))
        add("Table 6", qn[0].upper() + qn[1:], vals)

    add(
        "Screening", "Timing", [c.interventions.screening.timing.replace("_", " ") for c in configs]
    )
    add(
        "Assessment", "Model", [c.interventions.assessment.model.replace("_", "-") for c in configs]
    )
    add("Care model", "Kind", [c.interventions.care_model.kind.replace("_", "-") for c in configs])
    for sid in ("low_intensity", "step3", "step4", "group", "pharmacological", "pastoral"):
        vals = []
        for c in configs:
            st = c.interventions.steps.get(sid)
            if not st.offered:
                vals.append("no")
            else:
                vals.append(f"✓ {st.label}" if sid in ("pharmacological", "step3") else "✓")
        add("Support for individuals", sid.replace("_", " "), vals)
    add(
        "Support for individuals",
        "Referred on after assessment (assumed share)",
        [f"{c.interventions.onward_referral.p_onward:.0%}" for c in configs],
    )
    return pd.DataFrame(rows, columns=[*SITES_COLUMNS, *names])


def render(df: pd.DataFrame, fmt: str) -> str:
    """Render :func:`sites_table` as ``table`` (aligned text), ``csv`` or ``markdown``."""
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "markdown":
        cols = list(df.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in df.iterrows():
            lines.append("| " + " | ".join(str(r[c]).replace("|", "/") for c in cols) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "table":
        cols = list(df.columns)
        widths = {c: max(len(str(c)), *(len(str(v)) for v in df[c])) for c in cols}
        widths = {c: (min(w, 60) if c == "item" else min(w, 40)) for c, w in widths.items()}

        def lines(vals):
            # a long cell wraps at word boundaries onto more lines of the same row, so no
            # text is cut (the csv and markdown formats keep each cell on one line)
            cells = [
                textwrap.wrap(str(v), widths[c], break_on_hyphens=False) or [""]
                for c, v in zip(cols, vals, strict=True)
            ]
            height = max(len(cell) for cell in cells)
            return [
                "  ".join(
                    (cell[k] if k < len(cell) else "").ljust(widths[c])
                    for c, cell in zip(cols, cells, strict=True)
                ).rstrip()
                for k in range(height)
            ]

        out = [*lines(cols), "  ".join("-" * widths[c] for c in cols)]
        for _, r in df.iterrows():
            out += lines([r[c] for c in cols])
        return "\n".join(out) + "\n"
    raise ValueError(f"format must be table, csv or markdown, got {fmt!r}")

"""Definitions of the screening instruments: items, allowed scores, ranges and bands.

Every fact below is taken from calibration.md section 4 ("Instrument facts"); the row is
named next to it. Instruments are immutable and looked up by their short name
(``"phq9"``, ``"gad7"``, ``"wsas"``, ``"audit"``, ``"pcl5"``, ``"itq"``), the same names the
configuration schema uses (``hubsim.config.schema.INSTRUMENTS``).

Examples
--------
>>> from hubsim.measures import get_instrument
>>> phq9 = get_instrument("phq9")
>>> phq9.n_items, phq9.total_min, phq9.total_max
(9, 0, 27)
>>> phq9.band_labels[-1]
'severe'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "INSTRUMENT_NAMES",
    "ITQ_CLUSTERS",
    "PCL5_CLUSTERS",
    "PCL5_DEFAULT_CUTOFF",
    "Instrument",
    "get_instrument",
]


@dataclass(frozen=True)
class Instrument:
    """One screening instrument.

    Attributes
    ----------
    name : str
        Short name (``"phq9"``).
    label : str
        Published name.
    item_names : tuple of str
        One name per item, in questionnaire order.
    item_values : tuple of tuple of int
        The scores each item may take, in category order.
    bands : tuple of (int, str)
        Lower bound (inclusive) and label of each severity band, ascending; a band runs to
        the next band's lower bound minus one.
    domain : str
        The latent domain its items load on in simulation (``LATENT_DOMAINS``).
    source : str
        The calibration.md row the facts come from.
    """

    name: str
    label: str
    item_names: tuple[str, ...]
    item_values: tuple[tuple[int, ...], ...]
    bands: tuple[tuple[int, str], ...]
    domain: str
    source: str

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_names)

    @property
    def total_min(self) -> int:
        """Smallest possible total (the ITQ 'total' is its diagnostic level)."""
        if self.name == "itq":
            return 0
        return int(sum(min(v) for v in self.item_values))

    @property
    def total_max(self) -> int:
        """Largest possible total (the ITQ 'total' is its diagnostic level, 0-2)."""
        if self.name == "itq":
            return 2
        return int(sum(max(v) for v in self.item_values))

    @property
    def band_labels(self) -> tuple[str, ...]:
        """Band labels, least to most severe."""
        return tuple(label for _, label in self.bands)

    def allowed_mask(self) -> np.ndarray:
        """Boolean (n_items, max score + 1): ``mask[j, v]`` is True when item j may score v."""
        top = max(max(v) for v in self.item_values)
        mask = np.zeros((self.n_items, top + 1), dtype=bool)
        for j, values in enumerate(self.item_values):
            mask[j, list(values)] = True
        return mask


def _items(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


# PCL-5 default cut-off: calibration.md §4 PCL-5 row, "31-33 probable PTSD"; 33 is the top of
# that range (the most specific choice); 31-33 may be chosen instead.
PCL5_DEFAULT_CUTOFF = 33
PCL5_CUTOFF_RANGE = (31, 33)

# DSM-5 cluster rule on PCL-5 items (1-based item numbers, minimum items scored >= 2):
# calibration.md §4 PCL-5 row, "items >=2 in B>=1, C>=1, D>=2, E>=2".
PCL5_CLUSTERS: dict[str, tuple[tuple[int, ...], int]] = {
    "B": ((1, 2, 3, 4, 5), 1),
    "C": ((6, 7), 1),
    "D": ((8, 9, 10, 11, 12, 13, 14), 2),
    "E": ((15, 16, 17, 18, 19, 20), 2),
}

# ITQ item layout (1-based columns of the 18-item matrix, questionnaire order): six PTSD
# symptoms in pairs (Re, Av, Th), three PTSD functional-impairment items, six DSO symptoms in
# pairs (AD, NSC, DR), three DSO functional-impairment items. calibration.md §4 ITQ row.
ITQ_CLUSTERS: dict[str, tuple[int, ...]] = {
    "re": (1, 2),
    "av": (3, 4),
    "th": (5, 6),
    "ptsd_impairment": (7, 8, 9),
    "ad": (10, 11),
    "nsc": (12, 13),
    "dr": (14, 15),
    "dso_impairment": (16, 17, 18),
}
# An ITQ symptom or impairment item "counts" when scored >= 2 (calibration.md §4 ITQ row).
ITQ_ENDORSED = 2

_R03 = (0, 1, 2, 3)
_R04 = (0, 1, 2, 3, 4)

_REGISTRY: dict[str, Instrument] = {
    # calibration.md §4 PHQ-9 row: 9 items 0-3, range 0-27, 5/10/15/20 = mild / moderate /
    # moderately severe / severe (Kroenke 2001). Item 9 is the self-harm (risk) item.
    "phq9": Instrument(
        name="phq9",
        label="PHQ-9",
        item_names=_items("phq9_", 9),
        item_values=(_R03,) * 9,
        bands=(
            (0, "minimal"),
            (5, "mild"),
            (10, "moderate"),
            (15, "moderately severe"),
            (20, "severe"),
        ),
        domain="depression",
        source="calibration.md §4 PHQ-9 (Kroenke 2001)",
    ),
    # calibration.md §4 GAD-7 row: 7 items 0-3, range 0-21, 5/10/15 = mild / moderate / severe
    # (Spitzer 2006); IAPT caseness >= 8 is applied in iapt_caseness, not as a band.
    "gad7": Instrument(
        name="gad7",
        label="GAD-7",
        item_names=_items("gad7_", 7),
        item_values=(_R03,) * 7,
        bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
        domain="anxiety",
        source="calibration.md §4 GAD-7 (Spitzer 2006; Löwe 2008)",
    ),
    # calibration.md §4 WSAS row: 5 items 0-8, range 0-40; <10 subclinical, 10-20 significant
    # impairment, >20 moderately severe or worse (Mundt 2002).
    "wsas": Instrument(
        name="wsas",
        label="WSAS",
        item_names=_items("wsas_", 5),
        item_values=(tuple(range(9)),) * 5,
        bands=(
            (0, "subclinical"),
            (10, "significant impairment"),
            (21, "moderately severe or worse"),
        ),
        domain="functioning",
        source="calibration.md §4 WSAS (Mundt 2002)",
    ),
    # calibration.md §4 AUDIT row: range 0-40; 0-7 low risk, 8-15 hazardous, 16-19 harmful,
    # 20+ possible dependence (the 20+ band is R there). Items 1-8 score 0-4; items 9-10
    # score 0, 2 or 4 (Babor et al. 2001, WHO scoring; item detail not in calibration.md).
    "audit": Instrument(
        name="audit",
        label="AUDIT",
        item_names=_items("audit_", 10),
        item_values=(_R04,) * 8 + ((0, 2, 4),) * 2,
        bands=((0, "low risk"), (8, "hazardous"), (16, "harmful"), (20, "possible dependence")),
        domain="alcohol",
        source="calibration.md §4 AUDIT (Babor et al. 2001, WHO)",
    ),
    # calibration.md §4 PCL-5 row: 20 items 0-4, range 0-80; probable PTSD at the cut-off
    # (default 33, see PCL5_DEFAULT_CUTOFF); bands are applied with the chosen cut-off.
    "pcl5": Instrument(
        name="pcl5",
        label="PCL-5",
        item_names=_items("pcl5_", 20),
        item_values=(_R04,) * 20,
        bands=((0, "below cut-off"), (PCL5_DEFAULT_CUTOFF, "probable PTSD")),
        domain="trauma",
        source="calibration.md §4 PCL-5 (NCPTSD / Weathers 2013)",
    ),
    # calibration.md §4 ITQ row: 18 items 0-4 (ICD-11 algorithm, Cloitre 2018). Its 'total'
    # is the diagnostic level: 0 none, 1 PTSD, 2 complex PTSD (mutually exclusive).
    "itq": Instrument(
        name="itq",
        label="ITQ",
        item_names=(
            "itq_p1",
            "itq_p2",
            "itq_p3",
            "itq_p4",
            "itq_p5",
            "itq_p6",
            "itq_pfi1",
            "itq_pfi2",
            "itq_pfi3",
            "itq_c1",
            "itq_c2",
            "itq_c3",
            "itq_c4",
            "itq_c5",
            "itq_c6",
            "itq_cfi1",
            "itq_cfi2",
            "itq_cfi3",
        ),
        item_values=(_R04,) * 18,
        bands=((0, "none"), (1, "PTSD"), (2, "complex PTSD")),
        domain="trauma",
        source="calibration.md §4 ITQ (Cloitre 2018)",
    ),
}

INSTRUMENT_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get_instrument(name: str) -> Instrument:
    """The :class:`Instrument` called ``name``.

    Parameters
    ----------
    name : str
        One of ``INSTRUMENT_NAMES``.

    Returns
    -------
    Instrument

    Examples
    --------
    >>> get_instrument("audit").item_values[9]
    (0, 2, 4)
    """
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"instrument must be one of {', '.join(INSTRUMENT_NAMES)}; got {name!r}.")
    return spec

"""ADLB contract: one row per subject x lab parameter x analysis timepoint (ADaM BDS).

ADLB may arrive as one file or split by category (``adlbc`` chemistry + ``adlbh`` hematology,
as in the CDISC pilot); the loader stacks them into one ``adlb`` table.
"""

from __future__ import annotations

import re
from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from dashboard.units import normalize_unit  # noqa: F401 (the one unit rule; re-exported for callers)
from data_contracts.base import FLAG_VALUES, DomainContract, map_distinct

#: Reference-range indicators: ADaM long form, SDTM/pilot short form.
NRIND_VALUES = ["L", "N", "H", "LOW", "NORMAL", "HIGH", "ABNORMAL", "LOW LOW", "HIGH HIGH"]

#: Canonical lab codes and the PARAMCD spellings sponsors use for them.
LAB_CODE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "CREAT": ("CREAT", "CREA", "CREATININE", "SCR", "CRE"),
    "EGFR": ("EGFR", "EGFRCKD", "GFREST", "EGFRC"),
    "UACR": ("UACR", "ALBCREAT", "MALBCR", "ACR"),
    "UPROT24": ("UPROT24", "PROT24", "UPRO24", "UTP24"),
    "UREA": ("UREA",),
    "BUN": ("BUN",),
    "K": ("K", "POTAS", "POTASSIUM"),
    "SODIUM": ("SODIUM", "NA"),
    "ALT": ("ALT", "SGPT"),
    "AST": ("AST", "SGOT"),
    "BILI": ("BILI", "TBIL", "TBILI"),
    "ALP": ("ALP", "ALKPH"),
    "ALB": ("ALB", "ALBUMIN"),
    "HGB": ("HGB", "HB"),
    "PLAT": ("PLAT", "PLT"),
    "WBC": ("WBC",),
    "NEUT": ("NEUT", "ANC"),
    "HBA1C": ("HBA1C", "A1C"),
    "GLUC": ("GLUC", "GLUCOSE", "FPG"),
}

#: Values outside these limits cannot be a correctly entered result in that unit (they are
#: data-entry or unit errors, not abnormal labs); such rows are quarantined as implausible.
PLAUSIBLE_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("CREAT", "umol/L"): (10.0, 3000.0),
    ("CREAT", "mg/dL"): (0.1, 35.0),
    ("EGFR", "mL/min/1.73m2"): (1.0, 250.0),
    ("K", "mmol/L"): (1.0, 12.0),
    ("SODIUM", "mmol/L"): (90.0, 200.0),
    ("HGB", "g/L"): (20.0, 260.0),
    ("HGB", "g/dL"): (2.0, 26.0),
    ("HGB", "mmol/L"): (1.2, 16.0),
    ("ALB", "g/L"): (5.0, 70.0),
    ("HBA1C", "%"): (3.0, 20.0),
    ("GLUC", "mmol/L"): (0.5, 60.0),
}


def canonical_lab_code(paramcd: str | None) -> str | None:
    """Canonical code for a sponsor PARAMCD (``POTAS`` -> ``K``), or None when unknown."""
    if paramcd is None or pd.isna(paramcd):
        return None
    code = str(paramcd).strip().upper()
    for canonical, synonyms in LAB_CODE_SYNONYMS.items():
        if code in synonyms:
            return canonical
    return None


def unit_from_param(param: str | None) -> str | None:
    """The unit in a PARAM label's last parentheses: "Creatinine (umol/L)" -> "umol/L"."""
    if param is None or pd.isna(param):
        return None
    m = re.search(r"\(([^()]*)\)\s*$", str(param))
    return normalize_unit(m.group(1)) if m else None


class ADLB(pa.DataFrameModel):
    """Laboratory results. AVAL may be missing (character-only results live in AVALC)."""

    studyid: Optional[Series[str]] = pa.Field(alias="STUDYID", nullable=True)
    usubjid: Series[str] = pa.Field(alias="USUBJID", nullable=False, str_length={"min_value": 1})
    paramcd: Series[str] = pa.Field(alias="PARAMCD", nullable=False, str_length={"min_value": 1})
    param: Optional[Series[str]] = pa.Field(alias="PARAM", nullable=True)
    parcat1: Optional[Series[str]] = pa.Field(alias="PARCAT1", nullable=True)
    aval: Series[float] = pa.Field(alias="AVAL", nullable=True)
    avalu: Optional[Series[str]] = pa.Field(alias="AVALU", nullable=True)
    adt: Optional[Series[pd.Timestamp]] = pa.Field(alias="ADT", nullable=True)
    ady: Optional[Series[float]] = pa.Field(alias="ADY", nullable=True)
    avisit: Optional[Series[str]] = pa.Field(alias="AVISIT", nullable=True)
    avisitn: Optional[Series[float]] = pa.Field(alias="AVISITN", nullable=True)
    ablfl: Optional[Series[str]] = pa.Field(alias="ABLFL", isin=FLAG_VALUES, nullable=True)
    base: Optional[Series[float]] = pa.Field(alias="BASE", nullable=True)
    chg: Optional[Series[float]] = pa.Field(alias="CHG", nullable=True)
    anrlo: Optional[Series[float]] = pa.Field(alias="ANRLO", ge=0, nullable=True)
    anrhi: Optional[Series[float]] = pa.Field(alias="ANRHI", ge=0, nullable=True)
    anrind: Optional[Series[str]] = pa.Field(alias="ANRIND", isin=NRIND_VALUES, nullable=True)
    bnrind: Optional[Series[str]] = pa.Field(alias="BNRIND", isin=NRIND_VALUES, nullable=True)
    lbnrind: Optional[Series[str]] = pa.Field(alias="LBNRIND", isin=NRIND_VALUES, nullable=True)
    dtype_: Optional[Series[str]] = pa.Field(alias="DTYPE", nullable=True)

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="negative_value")
    def analyte_not_negative(cls, df: pd.DataFrame) -> pd.Series:
        """A measured analyte (a code in LAB_CODE_SYNONYMS) is not negative; derived parameters
        such as the CDISC pilot's change-from-previous ``_ALT`` may be."""
        known = map_distinct(df["PARAMCD"], canonical_lab_code).notna()
        return ~(known & (df["AVAL"] < 0))

    @pa.dataframe_check(name="range_inverted")
    def reference_range_ordered(cls, df: pd.DataFrame) -> pd.Series:
        """ANRLO is not above ANRHI."""
        if "ANRLO" not in df or "ANRHI" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["ANRLO"] > df["ANRHI"])


CONTRACT = DomainContract(
    name="ADLB",
    model=ADLB,
    file_stems=("adlb", "adlbc", "adlbh"),
    required_file=True,
    aliases={
        "ANRLO": ("A1LO", "LBSTNRLO"),
        "ANRHI": ("A1HI", "LBSTNRHI"),
        "AVALU": ("LBSTRESU", "AVALU"),
        "ADT": ("LBDT",),
        "TRTA": ("TRT01A", "ARM"),
        "TRTP": ("TRT01P",),
    },
    record_key=("USUBJID", "PARAMCD", "ADT", "AVISIT", "DTYPE", "ATPT"),
    identity_columns=("USUBJID", "PARAMCD"),
    row_label="lab record",
    description="Laboratory results (chemistry, hematology, urinalysis) with reference ranges.",
)

"""ADAE contract: one row per adverse event (ADaM OCCDS)."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.base import FLAG_VALUES, DomainContract

AESEV_VALUES = ["MILD", "MODERATE", "SEVERE"]
AETOXGR_VALUES = ["1", "2", "3", "4", "5"]


class ADAE(pa.DataFrameModel):
    """Adverse events. MedDRA SOC and preferred term are required; dates are checked when present."""

    studyid: Optional[Series[str]] = pa.Field(alias="STUDYID", nullable=True)
    usubjid: Series[str] = pa.Field(alias="USUBJID", nullable=False, str_length={"min_value": 1})
    aeseq: Optional[Series[float]] = pa.Field(alias="AESEQ", nullable=True)
    aeterm: Optional[Series[str]] = pa.Field(alias="AETERM", nullable=True)
    aedecod: Series[str] = pa.Field(alias="AEDECOD", nullable=True)
    aebodsys: Series[str] = pa.Field(alias="AEBODSYS", nullable=True)
    astdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="ASTDT", nullable=True)
    aendt: Optional[Series[pd.Timestamp]] = pa.Field(alias="AENDT", nullable=True)
    astdy: Optional[Series[float]] = pa.Field(alias="ASTDY", nullable=True)
    aesev: Optional[Series[str]] = pa.Field(alias="AESEV", isin=AESEV_VALUES, nullable=True)
    aetoxgr: Optional[Series[str]] = pa.Field(alias="AETOXGR", isin=AETOXGR_VALUES, nullable=True)
    aeser: Optional[Series[str]] = pa.Field(alias="AESER", isin=FLAG_VALUES, nullable=True)
    aesdth: Optional[Series[str]] = pa.Field(alias="AESDTH", isin=FLAG_VALUES, nullable=True)
    aerel: Optional[Series[str]] = pa.Field(alias="AEREL", nullable=True)
    aeacn: Optional[Series[str]] = pa.Field(alias="AEACN", nullable=True)
    aeout: Optional[Series[str]] = pa.Field(alias="AEOUT", nullable=True)
    trtemfl: Optional[Series[str]] = pa.Field(alias="TRTEMFL", isin=FLAG_VALUES, nullable=True)
    aesifl: Optional[Series[str]] = pa.Field(alias="AESIFL", isin=FLAG_VALUES, nullable=True)

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="end_before_start")
    def ae_end_not_before_start(cls, df: pd.DataFrame) -> pd.Series:
        """AENDT is not before ASTDT."""
        if "ASTDT" not in df or "AENDT" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["AENDT"] < df["ASTDT"])


CONTRACT = DomainContract(
    name="ADAE",
    model=ADAE,
    file_stems=("adae",),
    required_file=True,
    aliases={
        "AEBODSYS": ("AESOC",),
        "AEREL": ("AREL",),
        "AESEV": ("ASEV",),
        "TRTA": ("TRT01A", "ARM"),
    },
    record_key=("USUBJID", "AESEQ"),
    row_label="adverse event",
    identity_columns=("USUBJID", "AESEQ"),
    # CTCAE grade 4 ("life-threatening") is beyond the three-level AESEV scale: loaded as its
    # SEVERE bucket, with AETOXGR 4 when the row has no grade (docs/definitions.md).
    value_maps={
        "AESEV": {"LIFE-THREATENING": ("SEVERE", {"AETOXGR": "4"}), "LIFE THREATENING": ("SEVERE", {"AETOXGR": "4"})},
        "AETOXGR": {f"GRADE {g}": (g, {}) for g in AETOXGR_VALUES},
    },
    description="Adverse events coded to MedDRA SOC/PT with severity, seriousness, relatedness.",
)

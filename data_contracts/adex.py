"""ADEX contract: one row per exposure record (here: one row per planned infusion)."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.base import FLAG_VALUES, DomainContract


class ADEX(pa.DataFrameModel):
    """Exposure. Dose columns are optional and are removed entirely in the blinded role."""

    studyid: Optional[Series[str]] = pa.Field(alias="STUDYID", nullable=True)
    usubjid: Series[str] = pa.Field(alias="USUBJID", nullable=False, str_length={"min_value": 1})
    exseq: Optional[Series[float]] = pa.Field(alias="EXSEQ", nullable=True)
    exoccur: Optional[Series[str]] = pa.Field(alias="EXOCCUR", isin=FLAG_VALUES, nullable=True)
    astdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="ASTDT", nullable=True)
    aendt: Optional[Series[pd.Timestamp]] = pa.Field(alias="AENDT", nullable=True)
    astdy: Optional[Series[float]] = pa.Field(alias="ASTDY", nullable=True)
    avisit: Optional[Series[str]] = pa.Field(alias="AVISIT", nullable=True)
    avisitn: Optional[Series[float]] = pa.Field(alias="AVISITN", nullable=True)
    exdose: Optional[Series[float]] = pa.Field(alias="EXDOSE", ge=0, nullable=True)
    paramcd: Optional[Series[str]] = pa.Field(alias="PARAMCD", nullable=True)
    aval: Optional[Series[float]] = pa.Field(alias="AVAL", nullable=True)

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="end_before_start")
    def exposure_end_not_before_start(cls, df: pd.DataFrame) -> pd.Series:
        """AENDT is not before ASTDT."""
        if "ASTDT" not in df or "AENDT" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["AENDT"] < df["ASTDT"])


CONTRACT = DomainContract(
    name="ADEX",
    model=ADEX,
    file_stems=("adex",),
    required_file=False,
    aliases={"TRTA": ("TRT01A", "ARM")},
    record_key=("USUBJID", "EXSEQ", "PARAMCD", "ASTDT"),
    row_label="exposure record",
    description="Study-drug administrations (infusions): dates, whether given, dose.",
)

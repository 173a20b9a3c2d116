"""ADVS contract: one row per subject x vital-sign parameter x timepoint (ADaM BDS)."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.base import FLAG_VALUES, DomainContract


class ADVS(pa.DataFrameModel):
    """Vital signs."""

    studyid: Optional[Series[str]] = pa.Field(alias="STUDYID", nullable=True)
    usubjid: Series[str] = pa.Field(alias="USUBJID", nullable=False, str_length={"min_value": 1})
    paramcd: Series[str] = pa.Field(alias="PARAMCD", nullable=False, str_length={"min_value": 1})
    param: Optional[Series[str]] = pa.Field(alias="PARAM", nullable=True)
    aval: Series[float] = pa.Field(alias="AVAL", nullable=True)
    avalu: Optional[Series[str]] = pa.Field(alias="AVALU", nullable=True)
    adt: Optional[Series[pd.Timestamp]] = pa.Field(alias="ADT", nullable=True)
    ady: Optional[Series[float]] = pa.Field(alias="ADY", nullable=True)
    avisit: Optional[Series[str]] = pa.Field(alias="AVISIT", nullable=True)
    avisitn: Optional[Series[float]] = pa.Field(alias="AVISITN", nullable=True)
    ablfl: Optional[Series[str]] = pa.Field(alias="ABLFL", isin=FLAG_VALUES, nullable=True)
    base: Optional[Series[float]] = pa.Field(alias="BASE", nullable=True)
    chg: Optional[Series[float]] = pa.Field(alias="CHG", nullable=True)

    class Config:
        strict = False
        coerce = False


CONTRACT = DomainContract(
    name="ADVS",
    model=ADVS,
    file_stems=("advs",),
    required_file=False,
    aliases={"AVALU": ("VSSTRESU",), "TRTA": ("TRT01A", "ARM"), "TRTP": ("TRT01P",)},
    record_key=("USUBJID", "PARAMCD", "ADT", "AVISIT", "DTYPE", "ATPT"),
    identity_columns=("USUBJID", "PARAMCD"),
    row_label="vital-sign record",
    description="Vital signs: blood pressure, pulse, temperature, weight.",
)

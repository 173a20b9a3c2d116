"""ADSL contract: one row per subject (ADaMIG 1.3 subject-level analysis dataset)."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.base import FLAG_VALUES, DomainContract

SEX_VALUES = ["M", "F", "U", "UNDIFFERENTIATED"]
EOSSTT_VALUES = ["COMPLETED", "DISCONTINUED", "ONGOING"]

#: Treatment columns that name the arm, most specific first. The analysis arm is the
#: actual treatment (safety tables are "as treated", clinical_reference §7).
ARM_SOURCE_COLUMNS = ("TRT01A", "ACTARM", "TRT01P", "ARM")


class ADSL(pa.DataFrameModel):
    """Subject-level analysis dataset. Optional columns are checked when present."""

    studyid: Optional[Series[str]] = pa.Field(alias="STUDYID", nullable=True)
    usubjid: Series[str] = pa.Field(alias="USUBJID", nullable=False, str_length={"min_value": 1})
    subjid: Optional[Series[str]] = pa.Field(alias="SUBJID", nullable=True)
    siteid: Optional[Series[str]] = pa.Field(alias="SITEID", nullable=True)
    age: Series[float] = pa.Field(alias="AGE", ge=0, le=120, nullable=True)
    sex: Series[str] = pa.Field(alias="SEX", isin=SEX_VALUES, nullable=True)
    race: Optional[Series[str]] = pa.Field(alias="RACE", nullable=True)
    saffl: Optional[Series[str]] = pa.Field(alias="SAFFL", isin=FLAG_VALUES, nullable=True)
    ittfl: Optional[Series[str]] = pa.Field(alias="ITTFL", isin=FLAG_VALUES, nullable=True)
    randfl: Optional[Series[str]] = pa.Field(alias="RANDFL", isin=FLAG_VALUES, nullable=True)
    dthfl: Optional[Series[str]] = pa.Field(alias="DTHFL", isin=FLAG_VALUES, nullable=True)
    randdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="RANDDT", nullable=True)
    scrndt: Optional[Series[pd.Timestamp]] = pa.Field(alias="SCRNDT", nullable=True)
    trtsdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="TRTSDT", nullable=True)
    trtedt: Optional[Series[pd.Timestamp]] = pa.Field(alias="TRTEDT", nullable=True)
    eosstt: Optional[Series[str]] = pa.Field(alias="EOSSTT", isin=EOSSTT_VALUES, nullable=True)
    eosdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="EOSDT", nullable=True)
    dcsreas: Optional[Series[str]] = pa.Field(alias="DCSREAS", nullable=True)
    dthdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="DTHDT", nullable=True)
    heightbl: Optional[Series[float]] = pa.Field(alias="HEIGHTBL", in_range={"min_value": 50, "max_value": 250}, nullable=True)
    weightbl: Optional[Series[float]] = pa.Field(alias="WEIGHTBL", in_range={"min_value": 20, "max_value": 350}, nullable=True)
    bmibl: Optional[Series[float]] = pa.Field(alias="BMIBL", in_range={"min_value": 10, "max_value": 80}, nullable=True)
    lstalvdt: Optional[Series[pd.Timestamp]] = pa.Field(alias="LSTALVDT", nullable=True)
    trtdurd: Optional[Series[float]] = pa.Field(alias="TRTDURD", ge=0, nullable=True)
    # Baseline disease characteristics (diabetic nephropathy trials); any sponsor may add more.
    diabdury: Optional[Series[float]] = pa.Field(alias="DIABDURY", in_range={"min_value": 0, "max_value": 90}, nullable=True)
    hba1cbl: Optional[Series[float]] = pa.Field(alias="HBA1CBL", in_range={"min_value": 3, "max_value": 20}, nullable=True)
    creatbl: Optional[Series[float]] = pa.Field(alias="CREATBL", ge=0, nullable=True)
    egfrbl: Optional[Series[float]] = pa.Field(alias="EGFRBL", in_range={"min_value": 1, "max_value": 250}, nullable=True)
    uacrbl: Optional[Series[float]] = pa.Field(alias="UACRBL", ge=0, nullable=True)
    sysbpbl: Optional[Series[float]] = pa.Field(alias="SYSBPBL", in_range={"min_value": 50, "max_value": 300}, nullable=True)
    diabpbl: Optional[Series[float]] = pa.Field(alias="DIABPBL", in_range={"min_value": 20, "max_value": 200}, nullable=True)

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="end_before_start")
    def treatment_end_not_before_start(cls, df: pd.DataFrame) -> pd.Series:
        """TRTEDT is not before TRTSDT."""
        if "TRTSDT" not in df or "TRTEDT" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["TRTEDT"] < df["TRTSDT"])


CONTRACT = DomainContract(
    name="ADSL",
    model=ADSL,
    file_stems=("adsl",),
    required_file=True,
    aliases={
        "DCSREAS": ("DCDECOD", "DCREASCD"),
        "SCRNDT": ("SCRFDT",),
    },
    record_key=("USUBJID",),
    row_label="subject",
    description="Subject-level: demographics, populations, treatment dates, disposition.",
)

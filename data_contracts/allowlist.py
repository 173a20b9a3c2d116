"""Columns the blinded role may load, per domain (the allow-list of ``dashboard.blinding``).

A blinded load keeps a column only if it is listed here for its domain (or the sponsor lists it
under ``[blinding] allow`` in extract.toml after review). What is listed is clinical or
structural: keys, dates and study days, visits, parameters, analysis values and reference
ranges, and the flags the product uses, plus the ADSL variables that ADaM copies into every
BDS/OCCDS dataset (demographics, population flags, treatment dates, disposition). Every
column a page, export or packet reads is here (``tests/test_blinding_adversarial.py`` checks
the code's column names against these lists on the sample, the CDISC pilot and pharmaverseadam).

ADEX keeps only the schedule: sequence, occurrence, dates, study day, visit, parameter key and
the adjustment reason, never an amount, volume, product, lot or unit.

Names follow the ADaM Implementation Guide 1.3 (ADSL, BDS, OCCDS) and ADaM OCCDS 1.1.
"""

from __future__ import annotations

from data_contracts import CONTRACTS
from data_contracts.resolution import date_twins

#: Keys and identifiers present in every domain.
_KEYS = ("STUDYID", "USUBJID", "SUBJID", "SITEID", "DOMAIN")

#: ADSL variables ADaM copies into other datasets (and the ADSL core itself).
_SUBJECT_CORE = (
    "SITENAME", "COUNTRY", "REGION1", "AGE", "AGEU", "AGEGR1", "AGEGR1N", "SEX", "RACE", "RACEN", "RACEGR1",
    "ETHNIC", "SAFFL", "ITTFL", "FASFL", "RANDFL", "ENRLFL", "EFFFL", "PPROTFL", "COMPLFL", "COMP8FL",
    "COMP16FL", "COMP24FL", "SCRNDT", "SCRFDT", "RANDDT", "TRTSDT", "TRTSDTM", "TRTEDT", "TRTEDTM", "TRTDURD",
    "TRTDUR", "RFSTDTC", "RFENDTC", "RFICDTC", "EOSSTT", "EOSDT", "DCSREAS", "DCREASCD", "DCDECOD",
    "DISCONFL", "DSRAEFL", "DTHFL", "DTHDT", "DTHDTF", "LSTALVDT",
)

_ADSL = (
    "HEIGHTBL", "WEIGHTBL", "BMIBL", "BMIBLGR1", "DIABDURY", "HBA1CBL", "CREATBL", "EGFRBL", "UACRBL",
    "SYSBPBL", "DIABPBL", "DISONSDT", "DURDIS", "VISIT1DT",
)

#: Occurrence data (adverse events): terms, coding levels, dates, seriousness and grading.
_ADAE = (
    "AESEQ", "AESPID", "AETERM", "AEDECOD", "AEPTCD", "AELLT", "AELLTCD", "AEHLT", "AEHLTCD", "AEHLGT",
    "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD", "ASTDT", "ASTDTM", "ASTDTF", "AENDT", "AENDTM",
    "AENDTF", "ASTDY", "AENDY", "ADURN", "ADURU", "AESEV", "ASEV", "ASEVN", "AETOXGR", "ATOXGR", "AESER",
    "AESCAN", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESOD", "AESMIE", "AEREL", "AREL",
    "AEACN", "AEOUT", "TRTEMFL", "AESIFL", "AOCCFL", "AOCCSFL", "AOCCPFL", "AOCCIFL", "ANL01FL",
)

#: Basic data structure (labs, vital signs): parameter, value, visit, baseline, ranges, flags.
_BDS = (
    "ASEQ", "PARAM", "PARAMCD", "PARAMN", "PARCAT1", "PARAMTYP", "AVAL", "AVALC", "AVALU", "BASE", "BASEC",
    "BASETYPE", "CHG", "PCHG", "ADT", "ADTM", "ADY", "AVISIT", "AVISITN", "VISIT", "VISITNUM", "ATPT", "ATPTN",
    "ABLFL", "DTYPE", "ANRLO", "ANRHI", "ANRIND", "BNRIND", "A1LO", "A1HI", "ANL01FL", "ONTRTFL",
)

_ADLB = (
    "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC",
    "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "R2A1LO", "R2A1HI", "BR2A1LO", "BR2A1HI", "ALBTRVAL",
    "ATOXGR", "BTOXGR", "ATOXGRL", "ATOXGRH", "BTOXGRL", "BTOXGRH",
)

_ADVS = ("VSSEQ", "VSTESTCD", "VSTEST", "VSPOS", "VSSTRESC", "VSSTRESN", "VSSTRESU")

#: Exposure: the schedule only (never amounts, volumes, product, lot or units).
_ADEX = (
    "EXSEQ", "ASEQ", "EXOCCUR", "ASTDT", "ASTDTM", "AENDT", "AENDTM", "ASTDY", "AENDY", "EXSTDY", "EXENDY",
    "AVISIT", "AVISITN", "VISIT", "VISITNUM", "EXADJ", "PARAMCD", "PARAM", "PARAMN", "PARCAT1",
)

#: Columns the blinded role keeps, per domain.
BLINDED_ALLOW: dict[str, frozenset[str]] = {
    "ADSL": frozenset(_KEYS + _SUBJECT_CORE + _ADSL),
    "ADAE": frozenset(_KEYS + _SUBJECT_CORE + _ADAE),
    "ADLB": frozenset(_KEYS + _SUBJECT_CORE + _BDS + _ADLB),
    "ADVS": frozenset(_KEYS + _SUBJECT_CORE + _BDS + _ADVS),
    "ADEX": frozenset(_KEYS + _SUBJECT_CORE + _ADEX),
}

#: Exposure values a sponsor cannot allow: an amount is zero (or half) on placebo.
ADEX_NEVER = frozenset({"AVAL", "AVALC", "AVALU", "AVALCAT1", "BASE", "CHG", "PCHG", "EXDOSE", "EXDOSU",
                        "EXDOSFRM", "EXDOSFRQ", "EXTRT", "EXVOL", "EXVOLU", "EXLOT", "EXROUTE"})

# The contracts' own columns are allowed (ADEX: except the amounts), and the datetime twins the
# loader takes a missing date from (data_contracts.resolution: TRTSDTM for TRTSDT).
for _name, _contract in CONTRACTS.items():
    _extra = {c for c in _contract.columns if not (_name == "ADEX" and c in ADEX_NEVER)}
    BLINDED_ALLOW[_name] = BLINDED_ALLOW[_name] | _extra | set(date_twins(_name).values())

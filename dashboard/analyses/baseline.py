"""Baseline characteristics ("Table 1"), by arm and total."""

from __future__ import annotations

import pandas as pd

from dashboard import db
from dashboard.analyses.common import describe_continuous, with_total_rows
from dashboard.filters import FilterSpec
from dashboard.population import arm_denominators, run
from data_contracts.adlb import canonical_lab_code

NOT_IN_EXTRACT = "not in this extract"

#: (variable key, label, kind, ADSL column, fallback lab/vital code for the ABLFL='Y' record)
VARIABLES = [
    ("age", "Age (years)", "continuous", "AGE", None),
    ("age_group", "Age group", "categorical", None, None),
    ("sex", "Sex", "categorical", "SEX", None),
    ("race", "Race", "categorical", "RACE", None),
    ("ethnic", "Ethnicity", "categorical", "ETHNIC", None),
    ("bmi", "BMI (kg/m2)", "continuous", "BMIBL", None),
    ("weight", "Weight (kg)", "continuous", "WEIGHTBL", None),
    ("diabetes_duration", "Diabetes duration (years)", "continuous", "DIABDURY", None),
    ("hba1c", "HbA1c (%)", "continuous", "HBA1CBL", "HBA1C"),
    ("egfr", "eGFR (mL/min/1.73m2)", "continuous", None, "EGFR"),
    ("egfr_category", "eGFR category (KDIGO)", "categorical", None, None),
    ("creatinine", "Creatinine", "continuous", "CREATBL", "CREAT"),
    ("uacr", "UACR (mg/g)", "continuous", "UACRBL", "UACR"),
    ("sbp", "Systolic BP (mmHg)", "continuous", "SYSBPBL", "SYSBP"),
    ("dbp", "Diastolic BP (mmHg)", "continuous", "DIABPBL", "DIABP"),
]


def _baseline_values(con, code: str, domain: str) -> pd.DataFrame:
    """Baseline (ABLFL='Y') values of a lab or vital parameter per subject, with its unit."""
    table = domain.lower()
    if not db.table_exists(con, table) or "ABLFL" not in db.table_columns(con, table):
        return pd.DataFrame(columns=["usubjid", "value", "unit"])
    unit = "AVALU" if "AVALU" in db.table_columns(con, table) else "NULL"
    frame = db.run(con, f'SELECT USUBJID AS usubjid, PARAMCD, AVAL AS value, {unit} AS unit FROM "{table}" '
                        "WHERE ABLFL = 'Y' AND AVAL IS NOT NULL")
    codes = frame["PARAMCD"].map(lambda c: canonical_lab_code(c) or str(c).upper())
    return frame[codes == code].drop_duplicates("usubjid")[["usubjid", "value", "unit"]]


def baseline_characteristics(con, spec: FilterSpec) -> pd.DataFrame:
    """Baseline characteristics by arm and total.

    Population: the selected population (safety by default). Continuous variables: n, mean
    (SD), median [Q1, Q3], min, max of non-missing values; categorical: n (%) of the arm's N,
    with a "Missing" level when any value is missing. Lab and vital baselines come from ADSL
    (e.g. HBA1CBL) or else from the ABLFL='Y' record of ADLB/ADVS; eGFR is the baseline eGFR
    of the ``subjects`` view. A variable the extract lacks appears once with level
    "not in this extract". Returns ``variable``, ``label``, ``level`` (categorical level;
    empty for continuous), ``arm``, ``n``, ``N``, ``pct``, ``mean``, ``sd``, ``median``,
    ``q1``, ``q3``, ``min``, ``max``, ``unit``.
    """
    cols = set(db.table_columns(con, "adsl"))
    select = ", ".join(f's."{c}"' for c in sorted({v[3] for v in VARIABLES if v[3] and v[3] in cols}))
    subj = run(con, f"""SELECT p.usubjid, p.arm, p.age_group, p.egfr_bl, p.egfr_bl_cat{', ' + select if select else ''}
                        FROM {{population}} p JOIN adsl s ON s.USUBJID = p.usubjid""", spec)
    den = arm_denominators(con, spec)
    data = with_total_rows(subj, den)
    n_by_arm = dict(zip(den["arm"], den["N"]))
    rows: list[dict] = []
    for key, label, kind, column, code in VARIABLES:
        values, unit = _variable_values(con, data, key, column, code)
        if values is None:
            rows.append({"variable": key, "label": label, "level": NOT_IN_EXTRACT, "arm": None, "unit": ""})
            continue
        for arm in den["arm"]:
            in_arm = values[data["arm"] == arm]
            N = int(n_by_arm[arm])
            if kind == "continuous":
                stats = describe_continuous(in_arm)
                stats.pop("missing")
                rows.append({"variable": key, "label": label, "level": "", "arm": arm, "N": N, "pct": None,
                             "unit": unit, **stats})
            else:
                levels = sorted(values.dropna().astype(str).unique())
                counts = in_arm.astype("string").fillna("Missing").value_counts()
                if values.isna().any():
                    levels.append("Missing")
                for level in levels:
                    n = int(counts.get(level, 0))
                    rows.append({"variable": key, "label": label, "level": level, "arm": arm, "n": n, "N": N,
                                 "pct": 100.0 * n / N if N else None, "unit": unit})
    out = pd.DataFrame(rows)
    cols_out = ["variable", "label", "level", "arm", "n", "N", "pct", "mean", "sd", "median", "q1", "q3", "min",
                "max", "unit"]
    for c in cols_out:
        if c not in out:
            out[c] = None
    return out[cols_out]


def _variable_values(con, data: pd.DataFrame, key: str, column: str | None, code: str | None):
    """Values of one variable aligned with ``data`` rows (None when not in the extract), and its unit."""
    if key == "age_group":
        return (data["age_group"] if "AGE" in data else None), ""
    if key == "egfr":
        return (data["egfr_bl"] if data["egfr_bl"].notna().any() else None), "mL/min/1.73m2"
    if key == "egfr_category":
        return (data["egfr_bl_cat"].where(data["egfr_bl"].notna()) if data["egfr_bl"].notna().any() else None), ""
    if column and column in data and data[column].notna().any():
        return data[column], ""
    if code:
        domain = "ADVS" if code in ("SYSBP", "DIABP") else "ADLB"
        base = _baseline_values(con, code, domain)
        if len(base):
            mapped = data["usubjid"].map(base.set_index("usubjid")["value"])
            unit = base["unit"].dropna().iloc[0] if base["unit"].notna().any() else ""
            return mapped, unit
    return None, ""


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    from dashboard.formatting import fmt_n_pct, fmt_num

    present = frame[frame["level"] != NOT_IN_EXTRACT]
    arms = list(dict.fromkeys(present["arm"]))
    headers = {a: f"{a} (N={int(present.loc[present['arm'] == a, 'N'].iloc[0])})" for a in arms}
    out_rows = []
    for key in dict.fromkeys(frame["variable"]):
        sub = frame[frame["variable"] == key]
        label = sub["label"].iloc[0]
        unit = sub["unit"].dropna().iloc[0] if sub["unit"].notna().any() else ""
        if (sub["level"] == NOT_IN_EXTRACT).all():
            out_rows.append({"Characteristic": label, "Statistic": "not in this extract"})
            continue
        title = f"{label} [{unit}]" if unit and unit not in label else label
        if sub["level"].eq("").all():
            for stat, fn in (("n", lambda r: str(int(r["n"]))),
                             ("Mean (SD)", lambda r: f"{fmt_num(r['mean'])} ({fmt_num(r['sd'])})" if r["n"] else ""),
                             ("Median [Q1, Q3]", lambda r: f"{fmt_num(r['median'])} [{fmt_num(r['q1'])}, {fmt_num(r['q3'])}]" if r["n"] else ""),
                             ("Min, max", lambda r: f"{fmt_num(r['min'])}, {fmt_num(r['max'])}" if r["n"] else "")):
                row = {"Characteristic": title if stat == "n" else "", "Statistic": stat}
                for _, r in sub.iterrows():
                    row[headers[r["arm"]]] = fn(r)
                out_rows.append(row)
        else:
            first = True
            for level in dict.fromkeys(sub["level"]):
                row = {"Characteristic": title if first else "", "Statistic": level}
                for _, r in sub[sub["level"] == level].iterrows():
                    row[headers[r["arm"]]] = fmt_n_pct(r["n"], r["pct"])
                out_rows.append(row)
                first = False
    return pd.DataFrame(out_rows).fillna("")


def register(add) -> None:
    from dashboard.tables import TableSpec

    add(TableSpec("baseline_characteristics", "Baseline characteristics", "baseline", baseline_characteristics,
                  display=_display, order=10,
                  definition="Continuous: mean (SD), median [Q1, Q3], min, max; categorical: n (%) of the arm's N. "
                  "Lab baselines from ADSL or the ABLFL='Y' record; eGFR by CKD-EPI 2021 unless supplied."))

"""Blinding: which columns a blinded load may never carry, and the pooled arm label.

This is the one place the arm is masked. In the blinded role the loader removes, *before
anything is validated or written to DuckDB*, every column that either

  B1. is a treatment variable by CDISC naming: planned/actual treatment and arm (``TRTxxP``,
      ``TRTxxA``, ``TRTP``, ``TRTA``, ``ARM``, ``ACTARM`` and their ``N``/``CD``/group twins,
      ``TRTSEQ*``), randomization numbers (``RAND`` + NO/NUM/ID/CD/CODE/N);
  B2. carries dose or product identity: any name containing ``DOS`` (EXDOSE, CUMDOSE, DOSEON,
      EXDOSU, EXPLDOS, ...), ``AVGDD`` or a name ending ``DD`` after AVG, the product name
      ``EXTRT`` and lot/kit/batch identifiers; in the exposure domain (ADEX) also every analysis
      value (``AVAL``, ``AVALC``, ``AVALCAT*``, ``BASE``, ``CHG``, ``PCHG``), since an exposure
      amount is zero on placebo;
  B3. is listed under ``[blinding] columns`` in ``extract.toml``;
  B4. is a subject-level column (one value per subject) whose values identify the arm: when
      the extract carries the arm, each subject-level column is scored by leave-one-out
      majority vote over its values (and, for numbers, over zero/non-zero/missing) and dropped
      when Cohen's kappa against the arm is >= 0.8. This catches flags or strata derived from
      the arm under names no list foresees.

Clinical results (lab values, adverse events) are kept: they are what the blinded views
pool. Every by-arm result in the blinded role is pooled into :data:`POOLED_ARM`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

import pandas as pd

POOLED_ARM = "All subjects"
MASK = "<masked>"
#: ADSL column holding the arm every analysis groups by (pooled in the blinded role).
ANALYSIS_ARM = "ANLARM"
ANALYSIS_ARM_ORDER = "ANLARMN"
#: Arm values that are not a randomized treatment (excluded when scoring rule B4).
NON_ARM_VALUES = {"", "SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED", "NOT RANDOMIZED", "SCRNFAIL"}
KAPPA_THRESHOLD = 0.8


class Role(str, Enum):
    """Who is looking: the closed-session board (unblinded) or the PI / open session (blinded)."""

    BLINDED = "blinded"
    UNBLINDED = "unblinded"

    @classmethod
    def parse(cls, value: "str | Role") -> "Role":
        try:
            return cls(str(value.value if isinstance(value, Role) else value).lower())
        except ValueError:
            raise ValueError(f"role {value!r} is not known; expected 'blinded' or 'unblinded'.") from None


_TREATMENT = re.compile(
    r"^(TRT\d{2}[AP]|TR\d{2}[AP]G\d*|TRT[AP]|TRTSEQ[AP]?|TRT[AP]G\d*|ARM|ACTARM|ARMCD|ACTARMCD|ARMN|ACTARMN|"
    r"ARMNRS|ACTARMUD|PLANARM|RANDARM)(N|CD|G\d+N?)?$"
    r"|^TRTSEQ"
    r"|^TRT\d{2}[AP]"
    r"|^RAND(NO|NUM|ID|CD|CODE|N)$|^RANDOMNO$"
)
_DOSE_OR_PRODUCT = re.compile(r"DOS|^AVGDD$|^AVG\w*DD$|^EXTRT$|^EXLOT|LOT(NO|ID)?$|^KIT|KITNO|BATCH")
_EXPOSURE_VALUES = re.compile(r"^(AVAL|AVALC|AVALCAT\d*|BASE|CHG|PCHG|AVALU)$")


def column_blinding_rule(domain: str, column: str, manifest_columns: tuple[str, ...] = ()) -> str | None:
    """The rule (B1/B2/B3) that removes ``column`` of ``domain`` in the blinded role, or None."""
    name = column.upper()
    if _TREATMENT.search(name):
        return "B1"
    if _DOSE_OR_PRODUCT.search(name) or (domain == "ADEX" and _EXPOSURE_VALUES.match(name)):
        return "B2"
    if name in manifest_columns:
        return "B3"
    return None


def loo_majority_kappa(values: pd.Series, arms: pd.Series) -> float:
    """Cohen's kappa of predicting each subject's arm from the others with the same value.

    Leave-one-out majority vote: a subject is predicted as the most common arm among the
    *other* subjects sharing its value (the overall most common arm when none do). Kappa
    compares that accuracy with always guessing the most common arm (0 = chance, 1 = perfect).
    """
    frame = pd.DataFrame({"v": values.astype("string").fillna("<missing>"), "a": arms.astype("string")}).dropna()
    n = len(frame)
    if n < 4 or frame["a"].nunique() < 2:
        return 0.0
    overall = Counter(frame["a"])
    chance_label, chance_count = overall.most_common(1)[0]
    p0 = chance_count / n
    counts: dict[str, Counter] = {}
    for v, a in zip(frame["v"], frame["a"]):
        counts.setdefault(v, Counter())[a] += 1
    correct = 0
    for v, a in zip(frame["v"], frame["a"]):
        others = counts[v].copy()
        others[a] -= 1
        others = +others
        guess = others.most_common(1)[0][0] if others else chance_label
        correct += guess == a
    acc = correct / n
    return 0.0 if p0 >= 1 else (acc - p0) / (1 - p0)


def arm_identifying_score(values: pd.Series, arms: pd.Series) -> float:
    """Highest kappa over the encodings of a subject-level column (value; for numbers also the
    zero / non-zero / missing pattern)."""
    scores = [loo_majority_kappa(values, arms)]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().any():
        pattern = pd.Series("nonzero", index=values.index).where(numeric != 0, "zero").where(numeric.notna(), "missing")
        scores.append(loo_majority_kappa(pattern, arms))
    return max(scores)


@dataclass
class SubjectLevelTracker:
    """Collects, chunk by chunk, the columns of a domain that hold one value per subject."""

    candidates: set[str] | None = None
    values: dict[str, dict[str, object]] = field(default_factory=dict)

    def update(self, frame: pd.DataFrame, skip: set[str]) -> None:
        cols = [c for c in frame.columns if c not in skip and c != "USUBJID"]
        if self.candidates is None:
            self.candidates = set(cols)
        live = [c for c in cols if c in self.candidates]
        if not live or "USUBJID" not in frame:
            return
        sub = frame[["USUBJID", *live]].astype("string").fillna("<missing>")
        nunique = sub.groupby("USUBJID", sort=False)[live].nunique()
        varying = {c for c in live if (nunique[c] > 1).any()}
        firsts = sub.drop_duplicates("USUBJID").set_index("USUBJID")
        for c in live:
            if c in varying:
                self.candidates.discard(c)
                self.values.pop(c, None)
                continue
            store = self.values.setdefault(c, {})
            for subj, v in firsts[c].items():
                if store.setdefault(subj, v) != v:
                    self.candidates.discard(c)
                    self.values.pop(c, None)
                    break

    def identifying_columns(self, arm_by_subject: pd.Series) -> dict[str, float]:
        """Columns whose kappa against the arm reaches :data:`KAPPA_THRESHOLD` (rule B4)."""
        arms = arm_by_subject[~arm_by_subject.astype("string").str.upper().fillna("").isin(NON_ARM_VALUES)]
        out = {}
        for c in sorted(self.candidates or ()):
            vals = pd.Series(self.values.get(c, {}), dtype="object")
            common = vals.index.intersection(arms.index)
            if len(common) < 4:
                continue
            score = arm_identifying_score(vals.loc[common], arms.loc[common])
            if score >= KAPPA_THRESHOLD:
                out[c] = score
        return out


@dataclass(frozen=True)
class BlindingDecision:
    """A column removed from a domain in the blinded role, and why (shown on the data page)."""

    domain: str
    column: str
    rule: str
    detail: str

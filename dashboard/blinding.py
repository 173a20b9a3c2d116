"""Blinding by default-deny: what a blinded load may carry, and the pooled arm label.

This is the one place the arm is masked. The blinded role (the PI, the open session) must not
be able to recover any subject's arm from any table, page, chart, export, file, row order or
message. The loader applies these rules, in this order, while it reads an extract:

  R1. **Allow-list, not deny-list.** Per domain only the columns listed in
      ``data_contracts.allowlist.BLINDED_ALLOW`` (keys, dates, study days, visits, parameters,
      values, ranges, the flags the product uses) or reviewed by the sponsor under
      ``[blinding] allow = [...]`` in extract.toml (``"COL"`` or ``"DOMAIN.COL"``) are loaded.
      Everything else is dropped before any value is read and only *counted* ("14 columns not
      on the allow-list were not loaded"); no column is named as arm-identifying. Never
      loaded, whatever ``allow`` says: treatment and randomization variables by CDISC naming
      (``TRTxxP/A``, ``TRTP/A``, ``ARM``, ``ACTARM`` and their ``N``/``CD`` twins, ``RANDNO``);
      dose and product variables (any name with ``DOS``, ``EXTRT``, lot/kit/batch); in ADEX
      everything but the schedule (sequence, occurrence, dates, day, visit, adjustment
      reason); columns listed under ``[blinding] columns``; and names that are not plain
      ASCII once look-alike letters are normalised (``TRTА`` with a Cyrillic A).
  R2. **Free text scanned for treatment identity.** Every kept text value is compared, after
      Unicode normalisation (NFKC, Cyrillic/Greek look-alike letters to Latin, invisible
      characters removed, upper case), with the arm labels and arm codes of the source, the
      distinctive words of the arm labels, the sponsor's ``[blinding] terms`` and
      :data:`PRODUCT_TERMS`. A matching value is replaced by :data:`TEXT_MASK` and counted.
  R3. **No row order.** Blinded tables are written in ``USUBJID`` / date order, and the source
      row numbers a blinded user sees (``SRC_ROW``, the rows in findings) are renumbered in
      subject order (file order within a subject, which says nothing about an arm): a file
      sorted by arm is renumbered, one already in subject order keeps its true rows. The
      unblinded role always keeps the true file row.
  R4. **A gate, not a filter.** When the source carries the arm, every kept column of every
      domain, of the current and the previous extract together, is summarised per subject
      (the set of its values and the subjects holding each value; for numbers, dates and text
      that reads as numbers also the mean, minimum and maximum and every one-sided cut-off;
      per lab / vital-sign parameter, the mean, as well as overall) and scored against the arm
      (:func:`arm_scores`). A column that predicts the arm far beyond what a clinical effect
      does (:data:`ACCURACY_LIMIT`, or a value group or one-sided cut-off of
      :data:`GROUP_MIN_SUBJECTS` subjects holding at least :data:`GROUP_MIN_ARM_SHARE` of one
      arm at :data:`GROUP_PURITY` purity, leaving out at least 5 subjects of the other arms;
      per lab/vital-sign parameter a number's cut-offs count by their leave-one-out accuracy
      only) makes the blinded load **refuse** (exit code 2) with
      a message naming the columns for the unblinded statistician, who either adds them to
      ``[blinding] columns`` (not loaded) or, once reviewed as a clinical effect, to
      ``[blinding] reviewed`` (loaded, not scored). Columns under ``allow`` are scored like any
      other: allowing a column loads it, it does not vouch for it. The score is never shown,
      and no clinical variable is silently dropped.
  R5. **One decision for both cuts.** The previous extract is loaded with the current
      extract's kept-column set, the same text terms, and is scored together with it by R4.
  R6. Nothing that regenerates the unblinded data ships with a blinded extract (the generator
      writes no seed into a blinded manifest).

Clinical results (lab values, adverse events) are kept: they are what the blinded views pool.
Every by-arm result in the blinded role is pooled into :data:`POOLED_ARM`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from data_contracts.allowlist import ADEX_NEVER, BLINDED_ALLOW

POOLED_ARM = "All subjects"
MASK = "<masked>"
TEXT_MASK = "[masked: names treatment]"
#: ADSL column holding the arm every analysis groups by (pooled in the blinded role).
ANALYSIS_ARM = "ANLARM"
ANALYSIS_ARM_ORDER = "ANLARMN"
#: Arm values that are not a randomized treatment (excluded when scoring rule R4).
NON_ARM_VALUES = {"", "SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED", "NOT RANDOMIZED", "SCRNFAIL", "NOTASSGN",
                  "NOTTRT"}

#: Rule R4 thresholds. A real treatment effect on labs or dropout stays well below them (the
#: sample trial's eGFR/UACR effect, the CDISC pilot and pharmaverseadam are measured in the tests).
ACCURACY_LIMIT = 0.85
GROUP_MIN_SUBJECTS = 5
GROUP_MIN_ARM_SHARE = 0.5
GROUP_PURITY = 0.95
#: Below this many randomized subjects no score tells an arm from chance: R4 does not run (R1-R3 do).
MIN_SCORED_SUBJECTS = 10

#: Words that name a treatment in any blinded trial (the sponsor adds the product's own).
PRODUCT_TERMS = ("PLACEBO", "SALINE", "SHAM", "VEHICLE")
#: Words of arm labels that name no treatment (dose levels, units, generic nouns).
_GENERIC_WORDS = {
    "HIGH", "LOW", "MEDIUM", "MID", "DOSE", "DOSES", "ARM", "GROUP", "CELLS", "CELL", "PER", "AND", "WITH",
    "PLUS", "THE", "DAILY", "WEEKLY", "ONCE", "TWICE", "TREATMENT", "STANDARD", "CARE", "ORAL", "INFUSION",
    "INJECTION", "TABLET", "TABLETS", "CAPSULE", "MG", "MCG", "KG", "ML", "IV", "SC", "BID", "QD", "TID",
    "SCREEN", "FAILURE", "NOT", "TREATED", "ASSIGNED", "RANDOMIZED", "THEN", "FOLLOWED", "BY", "OPEN", "LABEL",
    # words of CDISC controlled terms (AEACN "DRUG WITHDRAWN", "DOSE NOT CHANGED") and generic nouns
    "DRUG", "STUDY", "PRODUCT", "MEDICATION", "INVESTIGATIONAL", "CONTROL", "THERAPY", "REGIMEN", "COHORT", "PART",
}

# Cyrillic and Greek letters that look like Latin ones (the Latin-script subset of Unicode
# UTS #39 confusables.txt), and characters that render as nothing.
_LOOKALIKES = str.maketrans({
    # Cyrillic capitals and small letters
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O",
    "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
    "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "о": "o",
    "р": "p", "ѕ": "s", "т": "t", "х": "x", "у": "y", "ү": "y", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    # Greek capitals and small letters
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "α": "a", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "ι": "i", "κ": "k", "χ": "x", "ϲ": "c", "ϳ": "j",
    # invisible
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
})


def normalise_text(value: str) -> str:
    """``value`` as compared by rule R2: NFKC, look-alike letters to Latin, invisibles removed, upper case."""
    return unicodedata.normalize("NFKC", str(value)).translate(_LOOKALIKES).upper()


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
_PLAIN_NAME = re.compile(r"^[A-Z0-9_]+$")


def column_blinding_rule(domain: str, column: str, manifest_columns: tuple[str, ...] = ()) -> str | None:
    """The rule that never lets ``column`` of ``domain`` into a blinded load, whatever the allow-list
    says: "B1" treatment/randomization, "B2" dose/product (ADEX: any amount), "B3" listed under
    ``[blinding] columns``, "B5" a name that is not plain ASCII (look-alike letters); else None."""
    raw = str(column).strip().upper()
    name = normalise_text(raw).strip()
    if _TREATMENT.search(name):
        return "B1"
    if _DOSE_OR_PRODUCT.search(name) or (domain == "ADEX" and (_EXPOSURE_VALUES.match(name) or name in ADEX_NEVER)):
        return "B2"
    if name in {normalise_text(c).strip() for c in manifest_columns}:
        return "B3"
    if name != raw or not _PLAIN_NAME.match(raw):
        return "B5"
    return None


def _listed(domain: str, column: str, entries: tuple[str, ...]) -> bool:
    """Whether ``column`` of ``domain`` is named in a manifest list (``COL`` or ``DOMAIN.COL``)."""
    return column in entries or f"{domain}.{column}" in entries


def blinded_keeps(domain: str, column: str, allow: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> bool:
    """Whether the blinded role loads ``column`` (canonical name) of ``domain`` (rule R1)."""
    if column_blinding_rule(domain, column, drop) or _listed(domain, column, drop):
        return False
    return column in BLINDED_ALLOW.get(domain, frozenset()) or _listed(domain, column, allow)


# -- R2: free text -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TreatmentTerms:
    """The texts that name a treatment (rule R2), normalised, and the pattern that finds them."""

    terms: tuple[str, ...]

    @classmethod
    def build(cls, labels=(), codes=(), sponsor_terms=()) -> "TreatmentTerms":
        """From the arm labels (whole and their distinctive words), arm codes and sponsor terms."""
        found: set[str] = set(PRODUCT_TERMS)
        for label in labels:
            text = normalise_text(label).strip()
            if not text or text in NON_ARM_VALUES:
                continue
            found.add(text)
            for word in re.split(r"[\s/(),;:+]+", text):
                for part in {word, *word.split("-")}:
                    if sum(ch.isalpha() for ch in part) >= 3 and part not in _GENERIC_WORDS:
                        found.add(part)
        for code in codes:
            text = normalise_text(code).strip()
            if len(text) >= 3 and text not in NON_ARM_VALUES:
                found.add(text)
        found |= {normalise_text(t).strip() for t in sponsor_terms if str(t).strip()}
        return cls(tuple(sorted(found, key=lambda t: (-len(t), t))))

    @property
    def pattern(self) -> re.Pattern | None:
        if not self.terms:
            return None
        return re.compile(r"(?<![A-Z0-9])(?:" + "|".join(re.escape(t) for t in self.terms) + r")(?![A-Z0-9])")

    def names_treatment(self, value) -> bool:
        pattern = self.pattern
        return bool(pattern and value is not None and not pd.isna(value) and pattern.search(normalise_text(value)))

    def mask(self, values: pd.Series) -> tuple[pd.Series, int]:
        """``values`` with every text naming a treatment replaced by :data:`TEXT_MASK`, and how many were."""
        pattern = self.pattern
        present = values.dropna()
        if pattern is None or present.empty:
            return values, 0
        unique = pd.unique(present)
        hits = {v for v in unique if pattern.search(normalise_text(v))}
        if not hits:
            return values, 0
        masked = values.isin(hits)
        return values.mask(masked, TEXT_MASK), int(masked.sum())


# -- R3: row order -----------------------------------------------------------------------------

def blinded_row_numbers(keys: pd.DataFrame, first: int = 1) -> np.ndarray:
    """New row numbers for a file's rows (in file order): their rank when sorted by ``keys``'s
    columns (USUBJID), ties by file order, starting at ``first``."""
    order = keys.reset_index(drop=True).assign(_pos=np.arange(len(keys)))
    order = order.sort_values([*keys.columns, "_pos"], na_position="last", kind="stable")
    numbers = np.empty(len(keys), dtype="int64")
    numbers[order["_pos"].to_numpy()] = np.arange(first, first + len(keys), dtype="int64")
    return numbers


# -- R4: does a per-subject summary predict the arm? --------------------------------------------

def arm_codes(arms: pd.Series) -> tuple[np.ndarray, int]:
    """Each subject's arm as an integer code, and the number of arms."""
    cats = pd.Categorical(arms.astype("string"))
    return cats.codes.astype(int), len(cats.categories)


def loo_majority_accuracy(sig: np.ndarray, y: np.ndarray, k: int) -> float:
    """Leave-one-out accuracy of predicting each subject's arm (codes ``y`` < ``k``) as the most
    common arm among the *other* subjects with the same signature (integer codes ``sig``; -1 = no
    records, a signature of its own); the others' most common arm when none share it."""
    n = len(y)
    if n < 4 or k < 2:
        return 0.0
    groups = np.where(sig < 0, sig.max(initial=0) + 1, sig)
    counts = np.zeros((groups.max() + 1, k))
    np.add.at(counts, (groups, y), 1)
    own = counts[groups]
    own[np.arange(n), y] -= 1
    fallback = np.tile(np.bincount(y, minlength=k).astype(float), (n, 1))
    fallback[np.arange(n), y] -= 1
    votes = np.where(own.sum(axis=1, keepdims=True) > 0, own, fallback)
    return float((votes.argmax(axis=1) == y).mean())


def _cutoff_tables(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct value t of ``x`` (ascending): subjects per arm with x <= t, and with x >= t."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    onehot = np.zeros((len(xs), k))
    onehot[np.arange(len(xs)), ys] = 1
    cum = onehot.cumsum(axis=0)
    last = np.r_[xs[1:] != xs[:-1], True]
    firsts = np.r_[True, xs[1:] != xs[:-1]]
    below = cum[last]
    above = cum[-1] - np.vstack([np.zeros(k), cum])[:-1][firsts]
    return below, above


def _cutoff_accuracy(x: np.ndarray, y: np.ndarray, k: int) -> float:
    below, _ = _cutoff_tables(x, y, k)
    total = np.bincount(y, minlength=k)
    return float((below.max(axis=1) + (total - below).max(axis=1)).max() / len(y))


def loo_cutoff_accuracy(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Leave-one-out accuracy of the best single cut-off (each side predicts its majority arm).

    For each subject, the best cut-off of the *other* subjects (the lowest of equally good ones)
    predicts its arm. Computed from one table of cut-offs: leaving subject i out takes it from
    every cut-off at or above its value, and removes its value's cut-off when no other subject
    has that value (work per block of subjects is bounded, so memory stays small)."""
    n = len(x)
    if n == 0:
        return 0.0
    values, counts_v = np.unique(x, return_counts=True)
    below, _ = _cutoff_tables(x, y, k)
    total = np.bincount(y, minlength=k).astype(float)
    m = len(values)
    vi = np.searchsorted(values, x)
    cut = np.arange(m)
    correct = 0
    block = max(1, 2_000_000 // max(1, m))
    for s in range(0, n, block):
        i = np.arange(s, min(n, s + block))
        rows = np.arange(len(i))
        at_or_above = cut[None, :] >= vi[i][:, None]              # b x m: the cut-offs subject i counts in
        best_below = best_above = None
        for a in range(k):                                        # per arm: 2-D work, no tiny last axis
            mine = (y[i] == a)[:, None]
            below_a = below[None, :, a] - (at_or_above & mine)
            above_a = (total[a] - mine) - below_a
            best_below = below_a if best_below is None else np.maximum(best_below, below_a)
            best_above = above_a if best_above is None else np.maximum(best_above, above_a)
        acc = best_below + best_above
        gone = counts_v[vi[i]] == 1                               # its value's cut-off is not one of the others'
        acc[rows[gone], vi[i][gone]] = -1.0
        best = acc.argmax(axis=1)
        own = np.eye(k)[y[i]]
        chosen = below[best] - (best >= vi[i])[:, None] * own      # the others below the chosen cut-off, per arm
        side = np.where((x[i] <= values[best])[:, None], chosen, (total[None, :] - own) - chosen)
        correct += int((side.argmax(axis=1) == y[i]).sum())
    return correct / n


def _beyond_chance(accuracy: float, arms: np.ndarray, k: int) -> bool:
    """Accuracy at :data:`ACCURACY_LIMIT` and at least halfway from always guessing the largest arm
    to perfect (so a trial randomized 6:1 is not refused for its allocation ratio)."""
    p0 = np.bincount(arms, minlength=k).max() / len(arms)
    return accuracy >= ACCURACY_LIMIT and (accuracy - p0) / (1 - p0) >= 0.5


def group_purity(counts: np.ndarray, arm_sizes: np.ndarray) -> np.ndarray:
    """Per group (rows of subjects per arm): the purity of its best arm when the group is large
    enough to count (>= GROUP_MIN_SUBJECTS subjects and >= GROUP_MIN_ARM_SHARE of that arm), else 0."""
    counts = np.atleast_2d(counts)
    total = counts.sum(axis=1, keepdims=True)
    # A pure group means something only if it leaves out enough subjects of the other arms: with
    # 8 placebo subjects and 1 active, any 5 placebo subjects are "pure".
    others = arm_sizes.sum() - arm_sizes
    eligible = ((total >= GROUP_MIN_SUBJECTS) & (counts >= GROUP_MIN_ARM_SHARE * arm_sizes)
                & (others >= GROUP_MIN_SUBJECTS))
    purity = np.where(eligible, counts / np.maximum(total, 1), 0.0)
    return purity.max(axis=1) if purity.size else np.zeros(len(counts))


@dataclass(frozen=True)
class ArmScore:
    """How well one summary of a column predicts the arm (rule R4); for the unblinded statistician
    and the tests only, never shown to a blinded user."""

    domain: str
    column: str
    parameter: str          # "*" when scored over all records
    accuracy: float         # best leave-one-out accuracy (value set; best cut-off)
    purity: float           # best purity of a value group or one-sided cut-off large enough to count
    refuse: bool
    tail: float = 0.0       # best purity of a cut-off of a per-parameter value (reported, not refused on)


def numeric_scores(x: np.ndarray, y: np.ndarray, k: int, sizes: np.ndarray) -> tuple[float, float]:
    """(accuracy, purity) of the best one-sided cut-offs of per-subject numbers ``x`` (NaN = none).

    The accuracy is the leave-one-out accuracy of the best cut-off when its in-sample accuracy
    comes within 0.05 of the limit (else the in-sample accuracy, an upper bound in practice), and
    counts only when at least half the subjects (and 10) have a value."""
    have = ~np.isnan(x)
    if have.sum() < 4:
        return 0.0, 0.0
    xs, ys = x[have], y[have]
    below, above = _cutoff_tables(xs, ys, k)
    purity = float(max(group_purity(below, sizes).max(), group_purity(above, sizes).max()))
    accuracy = 0.0
    if have.sum() >= max(2 * GROUP_MIN_SUBJECTS, len(y) / 2):
        accuracy = _cutoff_accuracy(xs, ys, k)
        if accuracy >= ACCURACY_LIMIT - 0.05:
            accuracy = loo_cutoff_accuracy(xs, ys, k)
    return accuracy, purity


@dataclass(frozen=True)
class BlindingDecision:
    """What the blinded role did to a domain (shown on the data page); never names an arm column."""

    domain: str
    column: str
    rule: str
    detail: str


# -- R4 over a loaded database -----------------------------------------------------------------

#: Columns never scored: keys, provenance, and the analysis arm (pooled in the blinded role).
UNSCORED = {"USUBJID", "STUDYID", "SRC_FILE", "SRC_ROW", ANALYSIS_ARM, ANALYSIS_ARM_ORDER}
_PARAMETER_COLUMNS = {"PARAMCD", "PARAM", "PARAMN"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_NUMERIC_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                  "UINTEGER", "REAL")


def _summaries(con, tables: list[str], columns: list[str], types: dict[str, str], by_parameter: bool):
    """Per subject (and parameter) for every column: its hashed value set and, for numbers and
    dates, mean/min/max; and the subjects holding each value. ``tables`` are stacked."""
    from dashboard import db

    param = "CAST(PARAMCD AS VARCHAR)" if by_parameter else "'*'"
    parts = []
    for t in tables:
        have = set(db.table_columns(con, t))
        cols = ", ".join(f"{_quote(c) if c in have else 'NULL'} AS {_quote(c)}" for c in columns)
        parts.append(f"SELECT USUBJID AS _s, {param} AS _p, {cols} FROM {_quote(t)}")
    stacked = " UNION ALL BY NAME ".join(parts)
    select, numeric, text = [], [], []
    for c in columns:
        q = _quote(c)
        # the set of values (list_distinct drops NULL: whether one was missing is hashed beside it)
        values = f"list_distinct(list({q}))"
        select.append(f"hash(list_sort({values}), bool_or({q} IS NULL)) AS {_quote('sig:' + c)}")
        select.append(f"len({values}) + bool_or({q} IS NULL)::INT AS {_quote('nd:' + c)}")
        kind = types.get(c, "VARCHAR").upper()
        if kind.startswith("VARCHAR"):
            text.append(c)
        # Text that reads as numbers (a column no contract types, e.g. INFVOLML) is cut like a number.
        number = (f"epoch({q})" if kind.startswith(("DATE", "TIMESTAMP"))
                  else f"CAST({q} AS DOUBLE)" if kind.startswith(_NUMERIC_TYPES)
                  else f"TRY_CAST({q} AS DOUBLE)" if kind.startswith("VARCHAR") else None)
        if number:
            numeric.append(c)
            select += [f"{fn}({number}) AS {_quote(fn + ':' + c)}" for fn in ("avg", "min", "max")]
    per_subject = db.run(con, f"SELECT _s, _p, {', '.join(select)} FROM ({stacked}) GROUP BY _s, _p")
    # Value groups of text columns (a number's groups are its cut-offs, searched in _score_pass).
    if not text:
        return per_subject, pd.DataFrame(columns=["_p", "_name", "_v", "subjects"]), numeric
    texts = ", ".join(f"coalesce(CAST({_quote(c)} AS VARCHAR), '<missing>') AS {_quote(c)}" for c in text)
    groups = db.run(con, f"""
        SELECT _p, _name, _v, list(_s) AS subjects FROM (
            SELECT DISTINCT _s, _p, _name, _v FROM (
                UNPIVOT (SELECT _s, _p, {texts} FROM ({stacked})) ON COLUMNS(* EXCLUDE (_s, _p))
                INTO NAME _name VALUE _v))
        GROUP BY ALL HAVING count(*) >= {GROUP_MIN_SUBJECTS}""")
    return per_subject, groups, numeric


def arm_scores(con, domains: dict[str, list[str]], arms: pd.Series, reviewed: tuple[str, ...] = ()) -> list[ArmScore]:
    """Rule R4 over a loaded database: one :class:`ArmScore` per column (and per parameter for
    lab/vital-sign columns) of every domain. ``domains`` maps a domain to its tables (current and
    previous extract, scored together); ``arms`` is the source's arm per subject (non-randomized
    subjects are left out); columns the statistician reviewed (``[blinding] reviewed``) are not scored."""
    from dashboard import db

    arms = arms.dropna().astype("string").str.strip()
    arms = arms[~arms.str.upper().isin(NON_ARM_VALUES)]
    arms = arms[~arms.index.duplicated()]
    y, k = arm_codes(arms)
    if len(y) < MIN_SCORED_SUBJECTS or k < 2:  # too few subjects to tell an arm from chance
        return []
    sizes = np.bincount(y, minlength=k)
    out: list[ArmScore] = []
    for domain, tables in domains.items():
        tables = [t for t in tables if db.table_exists(con, t)]
        if not tables:
            continue
        types: dict[str, str] = {}
        for t in tables:
            for name, kind in db.run(con, "SELECT column_name, data_type FROM information_schema.columns "
                                          "WHERE table_name = $t ORDER BY ordinal_position", {"t": t}).itertuples(index=False):
                types.setdefault(name, kind)
        columns = [c for c in types if c not in UNSCORED and not _listed(domain, c, reviewed)]
        if not columns:
            continue
        per_subject, groups, numeric = _summaries(con, tables, columns, types, False)
        by_parameter = all("PARAMCD" in db.table_columns(con, t) for t in tables)
        # Labs and vital signs: a number that varies within a subject mixes parameters overall
        # (a mean over creatinine and UACR is no clinical quantity): it is cut per parameter only.
        varying = [c for c in columns if c not in _PARAMETER_COLUMNS and per_subject["nd:" + c].max() > 1]
        if by_parameter:
            numeric = [c for c in numeric if c not in varying]
        out += _score_pass(domain, per_subject, groups, numeric, columns, arms, y, k, sizes)
        if varying and by_parameter:
            per_subject, groups, numeric = _summaries(con, tables, varying, types, True)
            out += _score_pass(domain, per_subject, groups, numeric, varying, arms, y, k, sizes, by_parameter=True)
    return out


def _majority_accuracies(sig: np.ndarray, pk: np.ndarray, n_params: int, yrow: np.ndarray, n: int, k: int,
                         sizes: np.ndarray) -> np.ndarray:
    """:func:`loo_majority_accuracy` for every parameter at once. Rows are (parameter ``pk``,
    subject of arm ``yrow``) with a value-set code ``sig`` (-1: none); the subjects of a parameter
    without a row share one signature ("no records")."""
    have = sig >= 0
    pk_h, sig_h, y_h = pk[have], sig[have], yrow[have]
    gid = pd.factorize(pk_h.astype(np.int64) * (int(sig_h.max(initial=0)) + 1) + sig_h)[0]
    groups = np.bincount(gid * k + y_h, minlength=(gid.max(initial=-1) + 1) * k).reshape(-1, k).astype(float)
    own = groups[gid]
    own[np.arange(len(gid)), y_h] -= 1
    eye = np.eye(k)
    fallback = sizes[None, :] - eye                         # the others' arms, for a subject of each arm
    alone = own.sum(axis=1) == 0
    own[alone] = fallback[y_h[alone]]
    correct = np.bincount(pk_h, weights=(own.argmax(axis=1) == y_h), minlength=n_params)
    # subjects without records in a parameter: one group, its counts the arm sizes less those with records
    absent = sizes[None, :] - np.bincount(pk_h * k + y_h, minlength=n_params * k).reshape(n_params, k)
    for a in range(k):
        votes = absent - eye[a]
        votes = np.where(votes.sum(axis=1, keepdims=True) > 0, votes, fallback[a])
        correct += np.where(votes.argmax(axis=1) == a, absent[:, a], 0)
    if n < 4 or k < 2:
        return np.zeros(n_params)
    return correct / n


def _numeric_scores_by_parameter(x: np.ndarray, pk: np.ndarray, n_params: int, pos: np.ndarray, yrow: np.ndarray,
                                 n: int, k: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`numeric_scores` for every parameter at once: rows are (parameter ``pk``, subject
    ``pos`` of arm ``yrow``) with number ``x`` (NaN = none); returns (accuracy, purity) per parameter."""
    accuracy, purity = np.zeros(n_params), np.zeros(n_params)
    have = ~np.isnan(x)
    count = np.bincount(pk[have], minlength=n_params)
    use = have & (count[pk] >= 4)
    if not use.any():
        return accuracy, purity
    xs, ps, ys, ss = x[use], pk[use], yrow[use], pos[use]
    order = np.lexsort((xs, ps))
    xs, ps, ys, ss = xs[order], ps[order], ys[order], ss[order]
    onehot = np.zeros((len(xs), k))
    onehot[np.arange(len(xs)), ys] = 1
    cum = onehot.cumsum(axis=0)
    new_p = np.r_[True, ps[1:] != ps[:-1]]
    start = np.flatnonzero(new_p)
    base = (cum - onehot)[start][np.cumsum(new_p) - 1]           # cumulated counts before each parameter
    within = cum - base
    totals = np.zeros((n_params, k))
    np.add.at(totals, ps, onehot)
    last = np.r_[(xs[1:] != xs[:-1]) | (ps[1:] != ps[:-1]), True]
    first = np.r_[True, (xs[1:] != xs[:-1]) | (ps[1:] != ps[:-1])]
    below, p_below = within[last], ps[last]
    above, p_above = totals[ps[first]] - (within - onehot)[first], ps[first]
    np.maximum.at(purity, p_below, group_purity(below, sizes))
    np.maximum.at(purity, p_above, group_purity(above, sizes))
    scored = count >= max(2 * GROUP_MIN_SUBJECTS, n / 2)
    rows = scored[p_below]
    if rows.any():
        best = np.full(n_params, -np.inf)
        np.maximum.at(best, p_below[rows], below[rows].max(axis=1) + (totals[p_below[rows]] - below[rows]).max(axis=1))
        for j in np.flatnonzero(scored):
            accuracy[j] = best[j] / count[j]
            if accuracy[j] >= ACCURACY_LIMIT - 0.05:
                mine = (ps == j)
                keep = np.argsort(ss[mine], kind="stable")          # subject order, as a per-subject array has
                accuracy[j] = loo_cutoff_accuracy(xs[mine][keep], ys[mine][keep], k)
    return accuracy, purity


def _score_pass(domain, per_subject, groups, numeric, columns, arms, y, k, sizes, by_parameter=False) -> list[ArmScore]:
    n = len(y)
    pos_all = arms.index.get_indexer(per_subject["_s"].astype("string"))
    per_subject = per_subject[pos_all >= 0].assign(_pos=pos_all[pos_all >= 0])
    # value groups, all at once: subjects per arm for each (parameter, column, value)
    exploded = groups.explode("subjects")
    gpos = arms.index.get_indexer(exploded["subjects"].astype("string"))
    exploded = exploded[gpos >= 0].assign(_arm=y[gpos[gpos >= 0]])
    gkey = (exploded.groupby(["_p", "_name", "_v"], sort=False, dropna=False).ngroup().to_numpy() if len(exploded)
            else np.array([], int))
    counts = np.zeros((gkey.max() + 1 if len(gkey) else 0, k))
    np.add.at(counts, (gkey, exploded["_arm"].to_numpy(int)), 1)
    gpurity = pd.Series(group_purity(counts, sizes) if len(counts) else [], dtype=float)
    best_group = (pd.DataFrame({"_p": exploded["_p"].to_numpy(), "_name": exploded["_name"].to_numpy(),
                                "_g": gkey}).drop_duplicates("_g")
                  .assign(purity=lambda f: gpurity.reindex(f["_g"]).to_numpy())
                  .groupby(["_p", "_name"], dropna=False)["purity"].max().to_dict()) if len(exploded) else {}
    out = []
    if per_subject.empty:
        return out
    # Every parameter at once: parameter codes in the order they are reported (sorted, missing
    # last), one row per (parameter, subject).
    per_subject = per_subject.drop_duplicates(["_p", "_pos"])
    pk, params = pd.factorize(per_subject["_p"], sort=True, use_na_sentinel=False)
    n_params = len(params)
    pos = per_subject["_pos"].to_numpy()
    yrow = y[pos]
    # Per parameter only the mean: the extremes of many visits add chance separations of a real
    # clinical effect, not arm information a mean would miss.
    summaries = ("avg",) if by_parameter else ("avg", "min", "max")
    accuracy = {c: _majority_accuracies(pd.factorize(per_subject["sig:" + c])[0], pk, n_params, yrow, n, k, sizes)
                for c in columns}
    tail = {c: np.zeros(n_params) for c in columns}
    for c in numeric:
        for fn in summaries:
            x = per_subject[f"{fn}:{c}"].to_numpy(dtype=float, na_value=np.nan)
            a, q = _numeric_scores_by_parameter(x, pk, n_params, pos, yrow, n, k, sizes)
            accuracy[c], tail[c] = np.maximum(accuracy[c], a), np.maximum(tail[c], q)
    for j, p in enumerate(params):
        for c in columns:
            acc, tl = float(accuracy[c][j]), float(tail[c][j])
            # (Subjects without records are no group of their own: where records exist for one arm
            # only, that arm's subjects form the value groups; a tiny extract's few records would
            # otherwise make "everyone else" a pure group.)
            purity = best_group.get((p, c), 0.0)
            # A lab or vital-sign value per parameter is judged by its leave-one-out accuracy: a real
            # effect moves a whole arm (which accuracy measures) and in a small trial its strongest
            # responders can make a pure tail of half an arm (NCT04562025-like proteinuria, measured
            # in tests/test_blinding_adversarial.py); a planted separator (a drug level, 0 on placebo)
            # reaches accuracy ~1. Everywhere else a pure tail refuses too.
            if not by_parameter:
                purity = max(purity, tl)
            refuse = purity >= GROUP_PURITY or _beyond_chance(acc, y, k)
            out.append(ArmScore(domain, c, str(p), round(acc, 4), round(purity, 4), refuse, round(tl, 4)))
    return out


def arm_predicting_columns(con, domains: dict[str, list[str]], arms: pd.Series,
                           reviewed: tuple[str, ...] = ()) -> list[str]:
    """"DOMAIN.COLUMN" (with the parameter when only one parameter's values carry it) of every
    column that rule R4 refuses, in domain and column order."""
    found: dict[str, str] = {}
    for s in arm_scores(con, domains, arms, reviewed):
        key = f"{s.domain}.{s.column}"
        if s.refuse and (key not in found or s.parameter == "*"):
            found[key] = key if s.parameter == "*" else f"{key} (parameter {s.parameter})"
    return list(found.values())

"""Lab shifts, lab trajectories and liver safety (eDISH / Hy's law): a package by layer.

Layers: ``records`` (the analysis records, SQL, built once per connection and filter),
``tables`` (the computes), ``display`` (display wrappers), ``specs`` (the registry entries,
``register``). Every public name of each layer is importable from this package.

Every table here starts from the same analysis records (:func:`lab_analysis_records`). The
record rules are documented once, here, and apply to all of them (tern's argument convention):

**Records.** ADLB rows of the subjects in the population (``{population}``: the arm comes
from ADSL, never from TRTA) with a numeric AVAL, checked in this order:

1. parameters whose PARAMCD starts with ``_`` are excluded (the CDISC pilot's "change from
   previous visit, relative to normal range" parameters: AVAL empty or a relative shift);
2. records with any DTYPE (LOCF, WOCF, AVERAGE, LOV, MAXIMUM, MINIMUM, ...) are derived and
   excluded: a worst-case table must be built from observed values only;
3. with a data cut (``spec.data_cut``), only records with ADT on or before the cut (a record
   without ADT cannot be placed before the cut and is excluded);
4. ANL01FL (option ``lab_anl01fl``: ``auto`` default, ``use``, ``ignore``). Its meaning is
   sponsor-defined (ADaM IG), so ``auto`` honours it for a parameter only where it acts as a
   within-visit record selector: every subject x scheduled post-baseline visit with data has
   a flagged record. Then unflagged post-baseline records are dropped (baseline records are
   kept whatever their ANL01FL). In the CDISC pilot ANL01FL marks a single post-baseline
   record per subject and parameter (Week 26 never), so ``auto`` ignores it there;
   filtering on it would discard the very records a worst-post-baseline table needs.

**Baseline and post-baseline**: the BDS record rules of :mod:`dashboard.bds`, shared with the
renal tables (docs/definitions.md "Baseline record", "Post-baseline"): the record flagged
ABLFL='Y' when the parameter has any ABLFL='Y' record; otherwise the last record dated on or
before the first dose (TRTSDT; same-day values count as baseline), latest visit then latest
source row winning ties. Post-baseline: any other record dated after TRTSDT and after the
baseline date (study day >= 2 when ADT or TRTSDT is missing). Unscheduled records (AVISIT missing, "." or "UNSCHEDULED...") count for
worst-case tables, not for by-visit ones. Records before the first dose other than the
baseline (screening, pre-dose unscheduled) are neither.

**Duplicated summary visits** (the pilot's "End of Treatment", AVISITN 99, repeating the last
on-treatment value): a record with the same subject, parameter, ADT and AVAL as a record of
an earlier visit is flagged ``duplicate``. It stays as its own row in the by-visit summary
and box plot (reviewers expect an End of Treatment row) and is dropped from the abnormal
listing and Hy's law; it cannot change a worst value.

**Reference-range category** of a record (LOW / NORMAL / HIGH): derived from AVAL and the
record's own range whenever ANRLO or ANRHI is present: LOW if AVAL < ANRLO, HIGH if
AVAL > ANRHI, else NORMAL (a value equal to a limit is NORMAL). The CDISC pilot's
ANRIND/BNRIND are threshold flags (H only when AVAL > 1.5 x A1HI), not normal-range flags,
which is why the range comes first. Only when neither limit exists: the baseline record
uses BNRIND, then its ANRIND; other records use ANRIND (L/LOW/LOW LOW -> LOW, H/HIGH/
HIGH HIGH -> HIGH, N/NORMAL -> NORMAL). Anything else is MISSING (e.g. derived eGFR, which
has no range).

**x ULN** = AVAL / ANRHI of the same record (missing when ANRHI is missing or 0).

**Parameter groups**: by canonical code (:data:`LAB_GROUPS`, after
``data_contracts.adlb.canonical_lab_code``), falling back to PARCAT1, then "Other".

**Options** (``spec.option``, set by the page): ``lab_params`` (PARAMCDs to include; empty =
all), ``lab_shift_by_visit``, ``lab_anl01fl``, ``lab_hy_alt_rule`` (``ge`` default, FDA
"3-fold or greater"; ``gt``), ``lab_hy_window_days`` (30), ``lab_edish_x`` (``ALT`` default,
``AST``, ``ALT_OR_AST``), ``lab_listing_baseline`` (False).
"""

from dashboard.analyses.labs.records import *  # noqa: F401,F403
from dashboard.analyses.labs.tables import *  # noqa: F401,F403
from dashboard.analyses.labs.display import *  # noqa: F401,F403
from dashboard.analyses.labs.specs import register  # noqa: F401

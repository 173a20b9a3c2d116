"""Drug-induced liver injury: eDISH quadrants, potential Hy's law and the R ratio.

Definitions follow ``clinical_reference.md`` §6 (FDA DILI guidance 2009; eDISH, Watkins et
al. 2011). Inputs are multiples of the ULN (value / ULN), already reduced by the caller to
the draw or window the SAP defines (peak post-baseline for eDISH; same draw or within the
SAP's window, often 30 days, for Hy's law). All functions are vectorized.

Boundaries are compared with a relative tolerance of 1e-9, so 120/40 = 3.0 and 3.6/1.2 =
3.0000000000000004 both sit exactly on the 3 × ULN line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: eDISH reference lines (clinical_reference §6).
ALT_LINE_X_ULN = 3.0
TBL_LINE_X_ULN = 2.0
ALP_LIMIT_X_ULN = 2.0

_TOL = 1e-9
_ALT_RULES = ("ge", "gt")


def _arr(x) -> np.ndarray:
    if x is None:
        return np.asarray(np.nan)
    if isinstance(x, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(x).to_numpy(dtype=float, na_value=np.nan)
    try:
        return np.asarray(x, dtype=float)
    except TypeError:
        obj = np.asarray(x, dtype=object)
        return pd.Series(obj.ravel()).to_numpy(dtype=float, na_value=np.nan).reshape(obj.shape)


def _alt_elevated(alt_x_uln: np.ndarray, alt_rule: str) -> np.ndarray:
    if alt_rule not in _ALT_RULES:
        raise ValueError(f"alt_rule must be 'ge' (ALT ≥ 3×ULN, FDA guidance) or 'gt' (> 3×ULN, some SAPs); got {alt_rule!r}.")
    with np.errstate(invalid="ignore"):
        if alt_rule == "ge":
            return alt_x_uln >= ALT_LINE_X_ULN * (1 - _TOL)
        return alt_x_uln > ALT_LINE_X_ULN * (1 + _TOL)


def _tbl_elevated(tbl_x_uln: np.ndarray) -> np.ndarray:
    # "> 2 × ULN" in both the guidance and eDISH: a bilirubin of exactly 2 × ULN is not jaundice.
    with np.errstate(invalid="ignore"):
        return tbl_x_uln > TBL_LINE_X_ULN * (1 + _TOL)


def hys_law_quadrant(alt_x_uln, tbl_x_uln, alt_rule="ge"):
    """eDISH quadrant of each (ALT/ULN, TBL/ULN) point; None when either is missing.

    Definition: clinical_reference §6, lines at x = 3 and y = 2. Checked in order:

    1. ALT elevated and TBL > 2 × ULN: "possible Hy's law" (upper right);
    2. ALT elevated only: "Temple's corollary" (lower right);
    3. TBL > 2 × ULN only: "hyperbilirubinemia" (upper left; cholestasis or Gilbert's);
    4. otherwise: "normal" (lower left).

    "ALT elevated" is ALT ≥ 3 × ULN with ``alt_rule="ge"`` (default, FDA: "3-fold or greater")
    or > 3 × ULN with ``alt_rule="gt"``. Pass max(ALT, AST)/ULN as x if the SAP plots either.

    Returns: a str for scalar input, else an object array of the broadcast shape.
    """
    alt, tbl = np.broadcast_arrays(_arr(alt_x_uln), _arr(tbl_x_uln))
    alt_high, tbl_high = _alt_elevated(alt, alt_rule), _tbl_elevated(tbl)
    out = np.select(
        [alt_high & tbl_high, alt_high, tbl_high],
        ["possible Hy's law", "Temple's corollary", "hyperbilirubinemia"],
        default="normal",
    ).astype(object)
    out[np.isnan(alt) | np.isnan(tbl)] = None
    return out.reshape(()).item() if out.ndim == 0 else out


def is_potential_hys_law(alt_x_uln, tbl_x_uln, alp_x_uln, alt_rule="ge"):
    """Whether each record meets the biochemical criteria of potential Hy's law.

    Definition: clinical_reference §6 (FDA DILI guidance 2009), all of: ALT or AST elevated
    (≥ 3 × ULN by default, see ``alt_rule``); total bilirubin > 2 × ULN; ALP < 2 × ULN.
    The timing criterion (same draw or the SAP's window) is the caller's, through the values
    passed. A missing component cannot satisfy its criterion, so gives False; such records
    still show in ``hys_law_quadrant`` when ALT and TBL are present.

    Returns: a bool for scalar input, else a bool array of the broadcast shape.
    """
    alt, tbl, alp = np.broadcast_arrays(_arr(alt_x_uln), _arr(tbl_x_uln), _arr(alp_x_uln))
    with np.errstate(invalid="ignore"):
        alp_ok = alp < ALP_LIMIT_X_ULN * (1 - _TOL)
    out = _alt_elevated(alt, alt_rule) & _tbl_elevated(tbl) & alp_ok
    return bool(out) if out.ndim == 0 else out


def r_ratio(alt_x_uln, alp_x_uln):
    """R ratio (ALT/ULN)/(ALP/ULN) of each record; NaN when either is missing or ALP/ULN ≤ 0.

    Definition: clinical_reference §6 (FDA DILI guidance; Benichou 1990).

    Returns: a float for scalar input, else a float array of the broadcast shape.
    """
    alt, alp = np.broadcast_arrays(_arr(alt_x_uln), _arr(alp_x_uln))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(alp > 0, alt / alp, np.nan)
    return out.item() if out.ndim == 0 else out


def liver_injury_pattern(r):
    """Liver injury pattern from the R ratio; None when R is missing.

    Definition: clinical_reference §6: R ≥ 5 "hepatocellular"; R ≤ 2 "cholestatic";
    otherwise (2 < R < 5) "mixed".

    Returns: a str for scalar input, else an object array of the input's shape.
    """
    values = _arr(r)
    with np.errstate(invalid="ignore"):
        out = np.select(
            [values >= 5.0 * (1 - _TOL), values <= 2.0 * (1 + _TOL)],
            ["hepatocellular", "cholestatic"],
            default="mixed",
        ).astype(object)
    out[np.isnan(values)] = None
    return out.reshape(()).item() if out.ndim == 0 else out

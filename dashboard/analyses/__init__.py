"""Analyses: pure functions ``(con, spec) -> tidy DataFrame``, one per registered table.

Each module's ``register(add)`` passes its ``dashboard.tables.TableSpec`` entries to ``add``;
the registry calls :func:`register_all` with its own ``register`` the first time it is read,
so analysis modules never import the registry.
"""

from __future__ import annotations

import importlib

#: Modules whose ``register()`` contributes tables, in page order.
MODULES = ("overview", "changes", "enrollment", "exposure", "baseline", "adverse_events", "renal", "labs",
           "data_quality")


def register_all(add) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(f"dashboard.analyses.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dashboard.analyses.{name}":
                continue  # a page not built yet
            raise
        module.register(add)

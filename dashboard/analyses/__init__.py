"""Analyses: pure functions ``(con, spec) -> tidy DataFrame``, one per registered table.

Each module's ``register(add)`` passes its ``dashboard.tables.TableSpec`` entries to ``add``. The
registry imports the modules and calls each ``register`` once, at its own import; analysis
modules never import the registry (analyses -> registry -> pages/exports).
"""

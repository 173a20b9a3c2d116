"""Charts: pure functions ``(tidy frame, **options) -> alt.Chart``; no data access here."""

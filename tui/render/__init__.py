"""Pure renderers from model objects to table rows (headless: no textual, no rich)."""

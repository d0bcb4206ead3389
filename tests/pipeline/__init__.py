"""Real models and real media, through the library (no CLI subprocesses)."""

"""The stages, top to bottom: faces -> tracks -> matches -> signals -> verdicts, and the scan and watch loops."""

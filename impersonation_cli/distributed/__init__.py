"""Running scans on a Ray cluster (the `ray` extra)."""

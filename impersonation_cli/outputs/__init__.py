"""Reports stage: the table for people, JSON/JSONL for machines, and the evidence documents."""

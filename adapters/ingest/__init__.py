"""Evidence ingest: a request body streamed to its final file under a cap, checked by its kind's
validator as it arrives, fsynced, then recorded through the group commit (pipeline.py)."""

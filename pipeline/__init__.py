"""News event-stream ingestion pipeline."""

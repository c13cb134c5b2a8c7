"""Kafka tooling: the local development broker, client factories and topic admin."""

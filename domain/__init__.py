"""Aggregates, events and lifecycle rules. Imports only the stdlib and eventsourcing.domain."""

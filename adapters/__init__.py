"""Implementations of the application's ports and the read-model storage."""

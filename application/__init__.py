"""Use cases (commands), ports and the process manager. Imports domain only."""

"""Alembic migrations of the event store (run through :mod:`tianshan.store.migrate`)."""

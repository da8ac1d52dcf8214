"""Alembic environment and versions (installed as ``service.migrations``)."""

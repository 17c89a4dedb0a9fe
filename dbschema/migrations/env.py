"""Alembic environment: runs migrations on the connection handed over by dbschema.migrate."""

from alembic import context

from dbschema.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()

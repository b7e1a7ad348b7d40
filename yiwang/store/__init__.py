"""The store: SQLAlchemy tables, staging, kept streams, the canonical form and its digests,
publishing, the ledger and its verification, migrations, the store lock.

Imports no other room of the runtime."""

"""Ledger storage backends behind one Protocol (memory, SQLite)."""

"""State that lasts and travels: the SQLite store behind --data-dir, and state documents
(preload files, snapshots)."""

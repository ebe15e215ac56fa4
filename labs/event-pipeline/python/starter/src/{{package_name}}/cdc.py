"""Stage cdc: a read model built from PostgreSQL's logical decoding (wal2json)."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[tuple[Any, ...]]

PLUGIN = "wal2json"
OPTIONS = ("format-version", "2", "include-transaction", "true", "add-tables", "public.orders")


def ensure_slot(conn: Conn, slot: str) -> None:
    """Create the logical slot unless it exists; never drop it (it holds unread changes)."""
    # TODO(lab:cdc): pg_create_logical_replication_slot(slot, 'wal2json') only when
    # pg_replication_slots has no such slot.
    raise NotImplementedError("ensure_slot")


def sync_read_model(conn: Conn, slot: str, max_changes: int = 1000) -> int:
    """Apply the slot's committed transactions to order_view; return the rows read (0: caught up)."""
    # TODO(lab:cdc): peek (pg_logical_slot_peek_changes with OPTIONS), apply the changes of
    # each transaction whose commit LSN is past cdc_position to order_view and store the
    # position, in one transaction (fault_point("before_commit") just before it commits);
    # then fault_point("before_advance") and pg_replication_slot_advance.
    raise NotImplementedError("sync_read_model")

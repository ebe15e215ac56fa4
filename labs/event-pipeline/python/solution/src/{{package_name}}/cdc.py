"""Stage cdc: a read model built from PostgreSQL's logical decoding (wal2json)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import psycopg
from psycopg import errors

from .faults import fault_point

Conn = psycopg.Connection[tuple[Any, ...]]

PLUGIN = "wal2json"
OPTIONS = ("format-version", "2", "include-transaction", "true", "add-tables", "public.orders")


def ensure_slot(conn: Conn, slot: str) -> None:
    """Create the logical slot unless it exists; never drop it (it holds unread changes)."""
    exists = conn.execute(
        "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)
    ).fetchone()
    if exists:
        return
    # Another follower may create it between the check and here.
    with contextlib.suppress(errors.DuplicateObject):
        conn.execute("SELECT pg_create_logical_replication_slot(%s, %s)", (slot, PLUGIN))


def _columns(change: dict[str, Any], key: str) -> dict[str, Any]:
    return {c["name"]: c["value"] for c in change.get(key, [])}


def _apply(conn: Conn, change: dict[str, Any]) -> None:
    action = change["action"]
    if action == "I":
        row = _columns(change, "columns")
        conn.execute(
            "INSERT INTO order_view (order_id, customer, amount_cents, status, version)"
            " VALUES (%s, %s, %s, %s, 1)",
            (row["id"], row["customer"], row["amount_cents"], row["status"]),
        )
    elif action == "U":
        row = _columns(change, "columns")
        conn.execute(
            "UPDATE order_view SET customer = %s, amount_cents = %s, status = %s,"
            " version = version + 1 WHERE order_id = %s",
            (row["customer"], row["amount_cents"], row["status"], row["id"]),
        )
    elif action == "D":
        key = _columns(change, "identity")
        conn.execute("DELETE FROM order_view WHERE order_id = %s", (key["id"],))


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def sync_read_model(conn: Conn, slot: str, max_changes: int = 1000) -> int:
    """Apply the slot's committed transactions to order_view; return the rows read (0: caught up).

    Changes are peeked, not consumed: the read model and the position it reached commit in
    one transaction, and only then is the slot advanced. A crash in between replays
    transactions the position already covers, and they are skipped.
    """
    rows = conn.execute(
        "SELECT lsn::text, data FROM pg_logical_slot_peek_changes(%s, NULL, %s"
        ", %s, %s, %s, %s, %s, %s)",
        (slot, max_changes, *OPTIONS),
    ).fetchall()
    last: str | None = None
    with conn.transaction():
        pos = conn.execute(
            "SELECT lsn::text FROM cdc_position WHERE slot = %s FOR UPDATE", (slot,)
        ).fetchone()
        done = _lsn(pos[0]) if pos else -1
        pending: list[dict[str, Any]] = []
        applied = 0
        for lsn, data in rows:
            change = json.loads(data)
            if change["action"] == "B":
                pending = []
            elif change["action"] == "C":
                if _lsn(lsn) > done:
                    for item in pending:
                        _apply(conn, item)
                    applied += len(pending)
                last = lsn
                pending = []
            elif change["action"] in ("I", "U", "D"):
                pending.append(change)
        if last is None:
            return 0
        # Only write when something was applied: this transaction is itself decoded, and
        # writing the position for it alone would never let the follower catch up.
        if applied:
            conn.execute(
                "INSERT INTO cdc_position (slot, lsn) VALUES (%s, %s::pg_lsn)"
                " ON CONFLICT (slot) DO UPDATE SET lsn = EXCLUDED.lsn",
                (slot, last),
            )
        fault_point("before_commit")
    fault_point("before_advance")
    conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (slot, last))
    return len(rows)

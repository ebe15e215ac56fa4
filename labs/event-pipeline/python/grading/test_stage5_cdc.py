"""Stage cdc: a read model from logical decoding that converges after an outage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def _slot() -> str:
    return f"view_{uuid.uuid4().hex[:12]}"


def _orders(conn: Any) -> dict[int, tuple[str, int, str]]:
    rows = conn.execute("SELECT id, customer, amount_cents, status FROM orders").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _view(conn: Any) -> dict[int, tuple[str, int, str]]:
    rows = conn.execute("SELECT order_id, customer, amount_cents, status FROM order_view")
    return {r[0]: (r[1], r[2], r[3]) for r in rows.fetchall()}


def _versions(conn: Any) -> dict[int, int]:
    return dict(conn.execute("SELECT order_id, version FROM order_view").fetchall())


def _insert(conn: Any, customer: str, cents: int) -> int:
    row = conn.execute(
        "INSERT INTO orders (customer, amount_cents) VALUES (%s, %s) RETURNING id",
        (customer, cents),
    ).fetchone()
    return int(row[0])


def _write_history(conn: Any, prefix: str) -> dict[int, int]:
    """Three orders: one updated twice, one once, one deleted. Returns the expected versions."""
    a = _insert(conn, f"{prefix}-a", 100)
    b = _insert(conn, f"{prefix}-b", 200)
    c = _insert(conn, f"{prefix}-c", 300)
    with conn.transaction():  # two changes in one transaction
        conn.execute("UPDATE orders SET status = 'paid' WHERE id = %s", (a,))
        conn.execute("UPDATE orders SET amount_cents = 250 WHERE id = %s", (b,))
    conn.execute("UPDATE orders SET status = 'shipped' WHERE id = %s", (a,))
    conn.execute("DELETE FROM orders WHERE id = %s", (c,))
    return {a: 3, b: 2}


def _pending(conn: Any, slot: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_logical_slot_peek_changes(%s, NULL, NULL)", (slot,)
    ).fetchone()
    return int(row[0])


@pytest.mark.usefixtures("wal2json")
def test_slot_created_idempotently(db: str, load: Any) -> None:
    cdc, dbmod = load("cdc"), load("db")
    slot = _slot()
    with dbmod.connect(db) as conn:
        cdc.ensure_slot(conn, slot)
        order = _insert(conn, "ada", 100)
        cdc.ensure_slot(conn, slot)  # a follower restarting
        rows = conn.execute(
            "SELECT plugin, database FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchall()
        assert len(rows) == 1 and rows[0][0] == "wal2json", f"slot {slot}: {rows}"
        assert rows[0][1] == conn.info.dbname, "the slot belongs to the orders database"
        while cdc.sync_read_model(conn, slot):
            pass
        assert _view(conn) == {order: ("ada", 100, "placed")}, (
            "an order placed before the follower restarted is missing from the read model: "
            "ensure_slot must keep an existing slot (and the changes it holds), not recreate it"
        )


@pytest.mark.usefixtures("wal2json")
def test_read_model_follows_inserts_updates_deletes(db: str, load: Any) -> None:
    cdc, dbmod = load("cdc"), load("db")
    slot = _slot()
    with dbmod.connect(db) as conn:
        cdc.ensure_slot(conn, slot)
        versions = _write_history(conn, "x")
        rounds = 0
        while cdc.sync_read_model(conn, slot):
            rounds += 1
            assert rounds < 50, "sync_read_model never reports being caught up (0)"
        assert _view(conn) == _orders(conn), "the read model must equal the orders table"
        assert _versions(conn) == versions, (
            f"order_view.version counts the changes applied per order: expected {versions}, "
            f"got {_versions(conn)}"
        )
        assert _pending(conn, slot) == 0, (
            "the slot still holds changes the read model has applied: advance it after commit"
        )
        assert cdc.sync_read_model(conn, slot) == 0


@pytest.mark.usefixtures("wal2json")
@pytest.mark.parametrize("fault", ["before_commit", "before_advance"])
def test_read_model_converges_after_follower_crash(
    db: str, load: Any, run_module: Any, fault: str
) -> None:
    cdc, dbmod = load("cdc"), load("db")
    slot = _slot()
    env = {"DATABASE_URL": db}
    with dbmod.connect(db) as conn:
        cdc.ensure_slot(conn, slot)
        expected = _write_history(conn, "before")
    crashed = run_module("cdc_follower", {**env, "EVENTPIPE_FAULT": fault}, ("--slot", slot))
    assert crashed.returncode == -9, (
        f"the follower must reach fault_point({fault!r}) and be killed there; exit "
        f"{crashed.returncode}: {crashed.output}"
    )
    with dbmod.connect(db) as conn:
        if fault == "before_commit":
            assert _view(conn) == {}, "killed before commit, nothing may be in the read model"
            assert _pending(conn, slot) > 0, (
                "the follower died before its transaction committed, yet the slot no longer "
                "holds the changes: they are lost. Peek, apply and commit, then advance"
            )
        # More writes while the follower is down.
        expected.update(_write_history(conn, "during"))
    done = run_module("cdc_follower", env, ("--slot", slot, "--once"))
    assert done.returncode == 0, done.output
    with dbmod.connect(db) as conn:
        assert _view(conn) == _orders(conn), (
            f"after a crash at {fault} and a restart the read model must equal the orders table"
        )
        assert _versions(conn) == expected, (
            f"after a crash at {fault}, changes were applied twice or skipped "
            f"(versions {_versions(conn)}, expected {expected}): record the position in the "
            "read model's transaction and skip transactions it already covers"
        )
        assert _pending(conn, slot) == 0

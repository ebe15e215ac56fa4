"""The schema and how to connect. Given: you do not need to change it."""

from __future__ import annotations

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id           bigserial PRIMARY KEY,
    customer     text        NOT NULL,
    amount_cents integer     NOT NULL CHECK (amount_cents > 0),
    status       text        NOT NULL DEFAULT 'placed',
    -- Bumped by every change that emits an event: the event's per-order sequence number.
    version      integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: written in the same transaction as the change it describes.
CREATE TABLE IF NOT EXISTS outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    aggregate_id bigint      NOT NULL,
    seq          integer     NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- What each consumer has already applied, for deduplication.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    worker       text        NOT NULL DEFAULT '',
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The billing consumer's effects.
CREATE TABLE IF NOT EXISTS customer_totals (
    customer     text    PRIMARY KEY,
    orders       integer NOT NULL,
    amount_cents bigint  NOT NULL
);
CREATE TABLE IF NOT EXISTS order_status (
    order_id bigint  PRIMARY KEY,
    status   text    NOT NULL,
    seq      integer NOT NULL
);

-- The read model built from the write-ahead log (stage cdc).
CREATE TABLE IF NOT EXISTS order_view (
    order_id     bigint  PRIMARY KEY,
    customer     text    NOT NULL,
    amount_cents integer NOT NULL,
    status       text    NOT NULL,
    -- How many changes of this order the read model has applied.
    version      integer NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc_position (
    slot text   PRIMARY KEY,
    lsn  pg_lsn NOT NULL
);
"""


def connect(conninfo: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in autocommit mode: every transaction is an explicit `conn.transaction()`."""
    return psycopg.connect(conninfo, autocommit=True)


def init_schema(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(SCHEMA)

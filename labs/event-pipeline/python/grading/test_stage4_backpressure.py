"""Stage backpressure: bounded prefetch and buffers, 429 with Retry-After, metrics, alerts."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pika
import pytest
from conftest import wait_until
from fastapi.testclient import TestClient


def test_bounded_buffer_refuses_when_full(load: Any) -> None:
    bp = load("backpressure")
    buf = bp.BoundedBuffer(3)
    assert [buf.offer(i) for i in range(5)] == [True, True, True, False, False], (
        "a full buffer must refuse (offer returns False), never grow"
    )
    assert len(buf) == 3
    assert buf.poll() == 0 and buf.offer(9) is True
    assert [buf.poll(), buf.poll(), buf.poll(), buf.poll()] == [1, 2, 9, None]
    with pytest.raises(ValueError):
        bp.BoundedBuffer(0)


def test_prefetch_bounds_unacknowledged_deliveries(broker: Any, load: Any) -> None:
    consumers, events = load("consumers"), load("events")
    queue = broker.queue("slow")
    ch = broker.connect().channel()
    ch.queue_declare(queue, durable=True)
    ch.confirm_delivery()
    for i in range(30):
        event = events.Event(f"00000000-0000-4000-8000-{i:012d}", "order.placed", i, 1)
        body = events.encode(event)
        ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    release = threading.Event()
    started = threading.Event()

    def handle(event: Any) -> None:
        started.set()
        release.wait(20)

    channel = broker.connect().channel()
    worker = threading.Thread(
        target=lambda: consumers.run_consumer(channel, queue, handle, prefetch=4, idle_timeout=0.5)
    )
    worker.start()
    try:
        assert started.wait(10), "the consumer never called the handler"
        wait_until(lambda: broker.depth(queue) <= 26, 10, "4 deliveries to the consumer")
        time.sleep(0.5)  # give an unbounded consumer time to pull more
        ready = broker.depth(queue)
        assert ready == 26, (
            f"while the handler is busy with one message, {30 - ready} were taken off the queue; "
            "with prefetch=4 the broker may hand this consumer at most 4 unacknowledged "
            "messages (basic_qos(prefetch_count=prefetch))"
        )
    finally:
        release.set()
        worker.join(30)
    assert broker.depth(queue) == 0


def _client(load: Any, db: str, depth: list[int], **kw: Any) -> TestClient:
    api = load("api")
    app = api.create_app(db, depth_probe=lambda: depth[0], **kw)
    return TestClient(app)


def test_orders_shed_with_retry_after_when_queue_is_deep(db: str, load: Any) -> None:
    dbmod = load("db")
    depth = [0]
    client = _client(load, db, depth, max_queue_depth=100, retry_after_seconds=7)
    assert client.post("/orders", json={"customer": "ada", "amount_cents": 100}).status_code == 201
    depth[0] = 100
    ok = client.post("/orders", json={"customer": "bob", "amount_cents": 100})
    assert ok.status_code == 201, "a queue exactly at max_queue_depth still admits orders"
    depth[0] = 101
    shed = client.post("/orders", json={"customer": "eve", "amount_cents": 100})
    assert shed.status_code == 429, f"past max_queue_depth expected 429, got {shed.status_code}"
    assert shed.headers.get("retry-after") == "7", (
        f"a 429 must say when to come back: Retry-After: 7 (seconds); got "
        f"{shed.headers.get('retry-after')!r}"
    )
    with dbmod.connect(db) as conn:
        customers = [r[0] for r in conn.execute("SELECT customer FROM orders ORDER BY id")]
        events = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert customers == ["ada", "bob"] and events == (2,), (
        f"orders in the database: {customers}; a shed request must write nothing (decide "
        "before the transaction, or the client's retry creates a duplicate)"
    )
    depth[0] = 3
    assert client.post("/orders", json={"customer": "eve", "amount_cents": 1}).status_code == 201


def _metric(text: str, name: str, label: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{{...{label}...}} in /metrics:\n{text[:1500]}")


def test_metrics_export_queue_depth_and_consumer_lag(db: str, broker: Any, load: Any) -> None:
    dbmod, outbox, consumers = load("db"), load("outbox"), load("consumers")
    brokermod, events = load("broker"), load("events")
    queue = broker.queue("billing")
    ch = broker.connect().channel()
    ch.queue_declare(queue, durable=True)
    ch.confirm_delivery()
    for _ in range(4):
        ch.basic_publish("", queue, b"{}", pika.BasicProperties(delivery_mode=2))
    probe_ch = broker.connect().channel()
    api = load("api")
    client = TestClient(
        api.create_app(
            db,
            depth_probe=lambda: brokermod.queue_depth(probe_ch, queue),
            queue=queue,
            consumer="billing",
        )
    )
    with dbmod.connect(db) as conn:
        first = outbox.place_order(conn, "ada", 100)
        conn.execute("UPDATE outbox SET created_at = now() - interval '90 seconds'")
        second = outbox.place_order(conn, "bob", 100)
        body = client.get("/metrics").text
        assert _metric(body, "eventpipe_queue_depth", f'queue="{queue}"') == 4
        lag = _metric(body, "eventpipe_consumer_lag_seconds", 'consumer="billing"')
        assert 89 <= lag <= 120, (
            f"consumer lag is the age of the oldest event the consumer has not applied: about "
            f"90 s here, got {lag}"
        )
        row = conn.execute("SELECT aggregate_id, seq, payload FROM outbox ORDER BY id").fetchall()
        evs = [
            events.Event(str(e), "order.placed", r[0], r[1], r[2])
            for e, r in zip([first.event_id, second.event_id], row, strict=True)
        ]
        consumers.apply_event(conn, "billing", evs[0])
        lag = _metric(client.get("/metrics").text, "eventpipe_consumer_lag_seconds", "billing")
        assert lag < 30, f"after the old event was applied the lag must drop, got {lag}"
        consumers.apply_event(conn, "billing", evs[1])
        lag = _metric(client.get("/metrics").text, "eventpipe_consumer_lag_seconds", "billing")
        assert lag == 0, f"a consumer that has applied everything has lag 0, got {lag}"


PROMTOOL_TESTS = """
rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'eventpipe_queue_depth{{queue="billing"}}'
        values: '0 1500x10'
      - series: 'eventpipe_queue_depth{{queue="audit"}}'
        values: '0 900x10'
      - series: 'eventpipe_consumer_lag_seconds{{consumer="billing"}}'
        values: '0 0 120 120 120 120 5 5 5 5 5'
    alert_rule_test:
      - eval_time: 4m
        alertname: EventQueueBacklog
        exp_alerts: []
      - eval_time: 6m
        alertname: EventQueueBacklog
        exp_alerts:
          - exp_labels: {{severity: warning, queue: billing}}
      - eval_time: 3m
        alertname: ConsumerLagging
        exp_alerts: []
      - eval_time: 4m
        alertname: ConsumerLagging
        exp_alerts:
          - exp_labels: {{severity: page, consumer: billing}}
      - eval_time: 7m
        alertname: ConsumerLagging
        exp_alerts: []
"""


def test_alert_rules_pass_promtool(load: Any, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("skipped: promtool not installed: apt-get install prometheus")
    pkg = Path(load("settings").__file__).resolve().parent
    rules = pkg.parent.parent / "observability" / "alerts.yml"
    assert rules.is_file(), f"expected alert rules in {rules}"
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, f"promtool check rules: {checked.stdout}{checked.stderr}"
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(PROMTOOL_TESTS.format(rules=rules))
    tested = subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, check=False
    )
    assert tested.returncode == 0, (
        "the alert rules do not behave as the README asks (EventQueueBacklog: depth > 1000 for "
        "5m, severity warning, by queue; ConsumerLagging: lag > 60 s for 2m, severity page, by "
        f"consumer):\n{tested.stdout}{tested.stderr}"
    )

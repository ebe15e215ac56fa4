"""The event envelope on the wire. Given."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any


class PoisonMessage(ValueError):
    """A message no retry can fix: not JSON, or not an event."""


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    order_id: int
    seq: int
    payload: dict[str, Any] = field(default_factory=dict)


def encode(event: Event) -> bytes:
    return json.dumps(
        {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "order_id": event.order_id,
            "seq": event.seq,
            "payload": event.payload,
        },
        separators=(",", ":"),
    ).encode()


def decode(body: bytes) -> Event:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PoisonMessage("not a JSON object")
    try:
        event = Event(
            event_id=str(uuid.UUID(str(data["event_id"]))),
            event_type=str(data["event_type"]),
            order_id=int(data["order_id"]),
            seq=int(data["seq"]),
            payload=dict(data.get("payload") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PoisonMessage(f"not an event: {exc!r}") from exc
    return event

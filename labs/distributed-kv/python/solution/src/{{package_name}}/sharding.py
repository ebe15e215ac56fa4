"""Consistent hashing with virtual nodes: which replica group owns a key."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

DEFAULT_VNODES = 128


def stable_hash(text: str) -> int:
    """A 64-bit position on the ring, the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


class HashRing:
    """Each group owns `vnodes` points of the ring; a key belongs to the group of
    the first point at or after the key's own position (wrapping around)."""

    def __init__(self, groups: Iterable[str] = (), vnodes: int = DEFAULT_VNODES) -> None:
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        self.vnodes = vnodes
        self._points: list[tuple[int, str]] = []
        self._groups: set[str] = set()
        for group in groups:
            self.add(group)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self._groups)

    def add(self, group: str) -> None:
        if group in self._groups:
            return
        self._groups.add(group)
        for i in range(self.vnodes):
            bisect.insort(self._points, (stable_hash(f"{group}#{i}"), group))

    def remove(self, group: str) -> None:
        if group not in self._groups:
            return
        self._groups.discard(group)
        self._points = [point for point in self._points if point[1] != group]

    def owner(self, key: str) -> str:
        if not self._points:
            raise LookupError("the ring has no groups")
        position = stable_hash(key)
        i = bisect.bisect_left(self._points, (position, ""))
        return self._points[i % len(self._points)][1]

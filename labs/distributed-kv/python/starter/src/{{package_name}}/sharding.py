"""Consistent hashing with virtual nodes: which replica group owns a key."""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_VNODES = 128


def stable_hash(text: str) -> int:
    """A position on the ring that is the same in every process (unlike hash())."""
    # TODO(lab:sharding): hash with hashlib (sha256 or blake2b) and take an integer from it.
    raise NotImplementedError


class HashRing:
    """Each group owns `vnodes` points of the ring; a key belongs to the group of
    the first point at or after the key's own position (wrapping around)."""

    def __init__(self, groups: Iterable[str] = (), vnodes: int = DEFAULT_VNODES) -> None:
        self.vnodes = vnodes
        # TODO(lab:sharding): a sorted list of (position, group) points; add every group.

    @property
    def groups(self) -> frozenset[str]:
        # TODO(lab:sharding)
        raise NotImplementedError

    def add(self, group: str) -> None:
        # TODO(lab:sharding): `vnodes` points per group, each at stable_hash(f"{group}#{i}").
        raise NotImplementedError

    def remove(self, group: str) -> None:
        # TODO(lab:sharding)
        raise NotImplementedError

    def owner(self, key: str) -> str:
        # TODO(lab:sharding): binary search (bisect) for the first point at or after the
        # key's position; wrap around to the first point.
        raise NotImplementedError

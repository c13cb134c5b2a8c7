"""Key partitioning as Kafka's Java clients do it (murmur2), without per-record overhead.

kafka-python's default partitioner sorts the topic's partitions and lists the available
ones for every record; with one key per article and many events per key that dominated the
producer's time. This one gives the same partition for the same key and partition count.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from kafka.partitioner.abc import Partitioner
from kafka.partitioner.default import murmur2


@lru_cache(maxsize=65536)
def _key_hash(serialized_key: bytes) -> int:
    return murmur2(serialized_key) & 0x7FFFFFFF


class CachedKeyPartitioner(Partitioner):
    """murmur2(key) modulo the partition count, like the Java ``DefaultPartitioner``."""

    def __init__(self) -> None:
        self._sorted: dict[str, list[int]] = {}

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        ordered = self._sorted.get(topic)
        if ordered is None or len(ordered) != len(partitions):
            ordered = self._sorted[topic] = sorted(partitions)
        if serialized_key is None:
            return random.choice(ordered)
        return ordered[_key_hash(serialized_key) % len(ordered)]

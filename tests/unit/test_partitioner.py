"""The cached partitioner places every key where kafka-python's (and Java's) default does."""

from __future__ import annotations

from kafka.partitioner.default import DefaultPartitioner

from pipeline.kafka.partitioner import CachedKeyPartitioner


class _Cluster:
    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self._partitions = partitions

    def topics(self) -> set[str]:
        return set(self._partitions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._partitions.get(topic)

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions[topic]


def test_same_partition_as_the_default_partitioner() -> None:
    cluster = _Cluster({"a": {0, 1, 2}, "b": set(range(7))})
    ours, reference = CachedKeyPartitioner(), DefaultPartitioner()
    for topic in ("a", "b"):
        for i in range(500):
            key = f"article-{i:05d}".encode()
            assert ours.partition(topic, None, key, None, None, cluster) == reference.partition(
                topic, None, key, None, None, cluster
            )


def test_follows_a_partition_count_change() -> None:
    cluster = _Cluster({"a": {0, 1}})
    ours = CachedKeyPartitioner()
    keys = [f"k{i}".encode() for i in range(50)]
    before = {ours.partition("a", None, k, None, None, cluster) for k in keys}
    cluster._partitions["a"] = set(range(6))
    after = {ours.partition("a", None, k, None, None, cluster) for k in keys}
    assert before <= {0, 1} and len(after) > 2

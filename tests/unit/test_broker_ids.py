"""Local broker helpers that need no running broker."""

from __future__ import annotations


def test_new_cluster_ids_never_look_like_options() -> None:
    from pipeline.kafka.broker import _new_cluster_id

    ids = {_new_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert not any(i.startswith("-") for i in ids)

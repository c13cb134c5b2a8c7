"""Content fingerprints for dedup (pure): the exact one and a 64-bit simhash.

The exact fingerprint is :attr:`Article.content_sha256`. The similarity fingerprint is a
simhash over word 3-shingles: syndicated copies of one story (same text, other boilerplate
or a changed headline) land within a few bits of each other, unrelated texts about 32 bits
apart. Splitting the 64 bits into four 16-bit bands lets the ledger find every candidate
within distance 3 by exact band lookups (two hashes 3 bits apart share at least one band).
"""

from __future__ import annotations

import hashlib
import re

SHINGLE = 3
BANDS = 4
BAND_BITS = 64 // BANDS
MAX_INDEXED_DISTANCE = BANDS - 1
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE) -> list[str]:
    """Overlapping word n-grams of the lower-cased text."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def simhash(text: str) -> int:
    """A 64-bit simhash of ``text`` (unsigned)."""
    weights = [0] * 64
    for gram in set(shingles(text)):
        value = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest())
        for bit in range(64):
            weights[bit] += 1 if (value >> bit) & 1 else -1
    return sum(1 << bit for bit, weight in enumerate(weights) if weight > 0)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(fingerprint: int) -> tuple[int, ...]:
    """The four 16-bit bands of a fingerprint, for indexed near-duplicate lookups."""
    mask = (1 << BAND_BITS) - 1
    return tuple((fingerprint >> (BAND_BITS * i)) & mask for i in range(BANDS))


def to_signed(fingerprint: int) -> int:
    """Fit an unsigned 64-bit value in a signed BIGINT column."""
    return fingerprint - (1 << 64) if fingerprint >= 1 << 63 else fingerprint


def from_signed(value: int) -> int:
    return value + (1 << 64) if value < 0 else value

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
from collections import OrderedDict

import numpy as np

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
    """A 64-bit simhash of ``text`` (unsigned).

    Each distinct shingle's 64-bit BLAKE2b hash (read big-endian) votes on every bit: bit
    ``i`` of the result is set when more shingles have bit ``i`` set than not. The votes are
    counted with numpy (one pass over a shingles x 64 bit matrix).
    """
    grams = set(shingles(text))
    if not grams:
        return 0
    digests = b"".join(
        hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest() for gram in grams
    )
    values = np.frombuffer(digests, dtype=">u8").astype("<u8")
    # Little-endian bytes, least significant bit first: column i is bit i of each value.
    bits = np.unpackbits(values.view(np.uint8), bitorder="little").reshape(-1, 64)
    ones = bits.sum(axis=0, dtype=np.int64)
    return sum(1 << bit for bit, count in enumerate(ones.tolist()) if 2 * count > len(grams))


_FINGERPRINTS: OrderedDict[str, int] = OrderedDict()  # content SHA-256 -> simhash, newest last
_FINGERPRINTS_KEPT = 1 << 16  # about 8 MiB; no text is kept alive


def text_simhash(text: str, content_sha256: str) -> int:
    """:func:`simhash` of an article's text, remembered by the text's SHA-256: classifying
    and recording an article both need it, and a run may hold thousands of articles."""
    found = _FINGERPRINTS.get(content_sha256)
    if found is None:
        found = _FINGERPRINTS[content_sha256] = simhash(text)
        if len(_FINGERPRINTS) > _FINGERPRINTS_KEPT:
            _FINGERPRINTS.popitem(last=False)
    return found


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

"""Turning page bytes into text when the declared charset may be missing or wrong (pure).

The order: a byte-order mark; UTF-8 when the bytes are valid UTF-8 (a legacy encoding
rarely is, so a page declared Latin-1 but written in UTF-8 still reads right); UTF-8 again
when most non-ASCII bytes form valid UTF-8 sequences although some do not (a page cut
inside a character, stray bytes, a windows-1252 part pasted into a UTF-8 page), the
invalid bytes read as windows-1252; the charset the HTTP header declares; the page's own ``<meta charset>``; windows-1252 when the
``<html lang>`` is a western European language; a statistical guess (charset_normalizer);
UTF-8 with replacement characters as the last resort. Labels that
browsers read as windows-1252 (``iso-8859-1``, ``ascii``) are read as windows-1252 too.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)
_HTML_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)
_WESTERN_LANGUAGES = frozenset(
    {"en", "fr", "de", "es", "it", "pt", "nl", "da", "sv", "no", "nb", "fi", "ca", "ga"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_BYTES = bytes(range(0x80, 0x100))
_CP1252_FALLBACK = "pipeline-utf8-cp1252"
# WHATWG Encoding Standard: these labels mean windows-1252 on the web.
_WINDOWS_1252_LABELS = frozenset(
    {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "iso_8859-1"}
)


def _read_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes UTF-8 rejects are read as windows-1252, except a character
    cut by the end of the body, which becomes U+FFFD."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    if error.end == len(error.object) and error.reason == "unexpected end of data":
        return "\ufffd", error.end
    return bytes(error.object[error.start : error.end]).decode("cp1252", "replace"), error.end


codecs.register_error(_CP1252_FALLBACK, _read_as_cp1252)


def mostly_utf8(body: bytes) -> bool:
    """At least a third of the non-ASCII characters are valid UTF-8 sequences: a UTF-8 page
    with some invalid bytes, not a legacy encoding (where such sequences are accidents)."""
    rest, sequences = _UTF8_SEQUENCE.subn(b"", body)
    if not sequences:
        return False
    invalid = len(rest) - len(rest.translate(None, _HIGH_BYTES))
    return 2 * sequences >= invalid


def normalize_label(label: str | None) -> str | None:
    """A Python codec name for a declared charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in its first 4 KiB (``<meta charset>`` or http-equiv)."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", errors="replace") if match else None


def _western_page(body: bytes) -> bool:
    """The page says it is in a language written in windows-1252 (English, French ...)."""
    match = _HTML_LANG.search(body[:4096])
    return bool(match) and match.group(1).decode("ascii").lower() in _WESTERN_LANGUAGES


def guess_charset(body: bytes) -> str | None:
    """charset_normalizer's best guess, or None."""
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return best.encoding if best is not None else None


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode page bytes; see the module docstring for the order of candidates."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        if mostly_utf8(body):
            return body.decode("utf-8", errors=_CP1252_FALLBACK)
    tried = {"utf-8"}
    for candidate in (declared, meta_charset(body)):
        encoding = normalize_label(candidate)
        if not encoding or encoding in tried:
            continue
        tried.add(encoding)
        try:
            return body.decode(encoding)
        except (UnicodeError, LookupError):  # "undefined" and such always raise UnicodeError
            continue
    if _western_page(body) and "cp1252" not in tried:
        # A statistical guess often confuses windows-1252 with its central-European
        # sibling windows-1250 on French or German text; the page's language settles it.
        try:
            return body.decode("cp1252")
        except UnicodeDecodeError:
            pass
    guessed = normalize_label(guess_charset(body))
    if guessed and guessed not in tried:
        try:
            return body.decode(guessed)
        except (UnicodeError, LookupError):  # "undefined" and such always raise UnicodeError
            pass
    return body.decode("utf-8", errors="replace")

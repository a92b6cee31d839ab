"""Documents at rest, kept as a few hundred bytes each instead of a tree of Python objects.

A 1,000,000-lead campaign leaves 1,000,000 calls and as many deliveries behind; as dicts of dicts they
cost about 5 KB a lead. Most of them are at rest: a call waiting for an agent or done with, a delivery
delivered. An owner that will not change a document in place again hands it to the store as a
``Sealable`` (a plain ``dict`` subclass, so any store can keep it as it keeps any document). The
``MemoryStore`` (and the SQLite store's cache) keeps it ``Sealed``: encoded once with orjson, then
compressed by Zstandard against a dictionary trained on the records a mock seals (``records.zdict``,
made by ``tools/records_dictionary.py``), to under 200 bytes (or left as JSON, for a document soon read
again). The trained dictionary carries Zstandard's entropy tables, which each record would otherwise
build for itself: a record seals in half the time the raw-content dictionary of before took, opens in
two thirds, and is 13% smaller (a 1,000,000-lead campaign seals two million records).
``get`` hands back a fresh dict decoded from those bytes (a few microseconds); changing that dict
changes nothing stored until it is put back, as with SQLite.

Fields named in a ``Sealable`` subclass's ``shared`` hold objects that many documents share (the
settings of the request that made a call, the one-agent list of who may take it); they are kept once,
by reference, and a decoded document gets the very same object back, as the live document had it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar, NewType

import orjson
import zstandard

Document = dict[str, Any]

LEVEL = 1  # Zstandard's fastest standard level: with the dictionary, records shrink 5-6 times already
DICTIONARY_PATH = Path(__file__).with_name("records.zdict")
"""A Zstandard dictionary trained on the records a mock seals (``tools/records_dictionary.py`` makes it)."""
_REFS = "\x00shared"  # names the fields an encoded document holds by reference (never a JSON key of ours)
_COMPRESSED = b"\x00"  # marks compressed bytes (JSON text starts with "{")
_MAX_SHARED = 65_536
"""Distinct shared objects one store keeps by reference; past that, new ones are encoded in full."""


class Sealable(dict[str, Any]):
    """A document its owner will not change in place again: a store may keep it encoded. ``shared``
    names the fields whose values are shared by many documents (kept once, by reference). ``compress``
    False keeps the JSON as it is: for documents soon read again (compressing is most of the cost)."""

    __slots__ = ()
    shared: ClassVar[tuple[str, ...]] = ()
    compress: ClassVar[bool] = True


Sealed = NewType("Sealed", bytes)
"""A ``Sealable`` as a store keeps it: JSON (it starts with ``{``), or a zero byte and the JSON
compressed. Only the ``Codec`` that made it reads it. Plain ``bytes`` at run time (a store tells it from a
document, a dict, by ``type(value) is bytes``): an instance of a subclass of bytes would be tracked by the
garbage collector, 16 bytes more each and two million objects more for every full collection to walk
through in a 1,000,000-lead campaign."""


class Codec:
    """Seals and opens documents for one store; holds the objects its documents share by reference."""

    def __init__(self, max_shared: int = _MAX_SHARED, dictionary: bytes | None = None) -> None:
        """``dictionary``: Zstandard's dictionary to compress with (default: ``DICTIONARY_PATH``'s; empty:
        none)."""
        self._objects: list[Any] = []
        self._numbers: dict[int, int] = {}  # id(object) -> its number; the list keeps each id unique
        self._max_shared = max_shared
        data = _shipped() if dictionary is None else dictionary
        if data:  # digested once, here; every record is then (de)compressed against it
            words = zstandard.ZstdCompressionDict(data)
            words.precompute_compress(level=LEVEL)
            self._packer = zstandard.ZstdCompressor(
                level=LEVEL, dict_data=words, write_checksum=False, write_dict_id=False
            )
            self._unpacker = zstandard.ZstdDecompressor(dict_data=words)
        else:
            self._packer = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
            self._unpacker = zstandard.ZstdDecompressor()

    def encode(self, document: Sealable) -> Sealed | Document:
        """The document as JSON, not compressed yet (``squeeze`` does that), or the document itself when
        JSON cannot hold it exactly."""
        plain = dict(document)
        refs = []
        numbers = self._numbers
        for name in document.shared:
            # An object already numbered is the one the number names (the codec keeps it alive, so no
            # other object has its id): the common case, looked up here; a new one is numbered there.
            number = numbers.get(id(plain.get(name)))
            if number is not None:
                plain[name] = number
            elif not self._by_reference(plain, name):
                continue
            refs.append(name)
        if refs:
            plain[_REFS] = refs
        try:
            text = orjson.dumps(plain)
        except (orjson.JSONEncodeError, TypeError):  # an int past 64 bits, a non-string key
            return dict(document)
        # A copy of exactly its size: the bytes orjson hands back keep the buffer it wrote into (about
        # 4 KB), a million waiting calls' worth of it is gigabytes.
        return Sealed(bytes(memoryview(text)))

    def squeeze(self, encoded: bytes) -> Sealed:
        """An encoded document compressed. Compressing many one after another is several times cheaper
        each than one now and then: the compressor's tables stay in the CPU's cache (about 2 against 9
        microseconds a record here)."""
        return Sealed(_COMPRESSED + self._packer.compress(encoded))

    def open(self, sealed: bytes) -> Document:
        """A fresh dict, equal to the document that was sealed (shared fields: the same objects)."""
        text = sealed if sealed[:1] == b"{" else self._unpacker.decompress(memoryview(sealed)[1:])
        document: Document = orjson.loads(text)
        refs = document.pop(_REFS, None)
        if refs:
            objects = self._objects
            for name in refs:
                document[name] = objects[document[name]]
        return document

    def _by_reference(self, plain: Document, name: str) -> bool:
        value = plain.get(name)
        if not isinstance(value, (dict, list)):
            return False
        number = self._numbers.get(id(value))
        if number is None:
            if len(self._objects) >= self._max_shared:
                return False
            number = self._numbers[id(value)] = len(self._objects)
            self._objects.append(value)
        plain[name] = number
        return True


@functools.cache
def _shipped() -> bytes:
    """The dictionary file, read once per process (an empty file: no dictionary)."""
    return DICTIONARY_PATH.read_bytes()

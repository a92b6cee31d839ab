"""Documents at rest, kept as a few hundred bytes each instead of a tree of Python objects.

A 1,000,000-lead campaign leaves 1,000,000 calls and as many deliveries behind; as dicts of dicts they
cost about 5 KB a lead. Most of them are at rest: a call waiting for an agent or done with, a delivery
delivered. An owner that will not change a document in place again hands it to the store as a
``Sealable`` (a plain ``dict`` subclass, so any store can keep it as it keeps any document). The
``MemoryStore`` (and the SQLite store's cache) keeps it ``Sealed``: encoded once with orjson, then
compressed by Zstandard with a raw-content dictionary of the words calls and deliveries repeat, about 150
bytes (or left as JSON, for a document soon read again). Zstandard at level 1 seals a record in a third of
the time zlib took at its fastest level, and opens it in a quarter (a 1,000,000-lead campaign seals two
million records).
``get`` hands back a fresh dict decoded from those bytes (a few microseconds); changing that dict
changes nothing stored until it is put back, as with SQLite.

Fields named in a ``Sealable`` subclass's ``shared`` hold objects that many documents share (the
settings of the request that made a call, the one-agent list of who may take it); they are kept once,
by reference, and a decoded document gets the very same object back, as the live document had it.
"""

from __future__ import annotations

from typing import Any, ClassVar, NewType

import orjson
import zstandard

Document = dict[str, Any]

_LEVEL = 1  # Zstandard's fastest standard level: with the dictionary, records shrink 4-5 times already
_REFS = "\x00shared"  # names the fields an encoded document holds by reference (never a JSON key of ours)
_COMPRESSED = b"\x00"  # marks compressed bytes (JSON text starts with "{")
_MAX_SHARED = 65_536
"""Distinct shared objects one store keeps by reference; past that, new ones are encoded in full."""

_DICTIONARY = (
    b'{"id":1,"api":"ryng","callback":"connect","method":"POST","url":"http://127.0.0.1:8080/callbacks/'
    b'connect","encoding":"json","payload":{"queueID":1,"queueName":"queue::1","callID":1,"agentID":31,'
    b'"agentUsername":"agent@example.com","agentNum":"+919800000000","customerNum":"+919800000000",'
    b'"callbackType":"connect","event":"customer-connected","callCreated":"2026-01-05T09:00:00.000Z",'
    b'"callStarted":"2026-01-05T09:00:00.000Z","callDirection":"outbound","legDirection":"agent-first",'
    b'"customFieldNames":{"customField1Name":"Name"},"customFields":{"customField1":"Lead 1"}},'
    b'"state":"pending","created_at":"2026-01-05T09:00:00.000Z","retry":{"attempts":3,'
    b'"interval_seconds":60.0,"success_status":[200]},"attempts":[],"next_attempt_at":null,'
    b'"operationId":"createCampaignConnectCallback","event":"agent-connected","callID":1}'
    b'{"callID":1,"style":"queue","queueID":null,"campaignID":1,"number":"+919800000000","priority":0,'
    b'"eligible":1,"settings":1,"customFields":{},"state":"waiting","created":1767603600.0,'
    b'"scheduled":1767603600.0,"agent":null,"current":null,"attempts":[],"history":"0 queued",'
    b'"disposition":null,"notes":null,"disposed":null,"\\u0000shared":["eligible","settings"]}'
    b'{"callID":1,"style":"campaign","queueID":null,"campaignID":1,"number":"+919800000000","priority":0,'
    b'"eligible":1,"settings":1,"customFields":{"customField1":"Lead 1"},"state":"completed",'
    b'"created":1767603600.0,"scheduled":1767603600.0,"agent":"agent@example.com","current":null,'
    b'"attempts":[[1,1,"agent@example.com","busy",1767603600.0,1767603600.0,null,1767603600.0,0],'
    b'[2,1,"agent@example.com","answered",1767603600.0,1767603600.0,1767603600.0,1767603600.0,60]],'
    b'"history":"0 queued\\n200 dialing-agent\\n203 agent-answered\\n203 dialing-customer\\n210 customer-busy'
    b"\\n210 retry-scheduled\\n810 ready\\n900 dialing-agent\\n904 agent-answered\\n904 dialing-customer\\n911 "
    b'customer-answered\\n911 connected\\n1000 hangup agent\\n1020 disposed Interested",'
    b'"disposition":"Interested","notes":"","disposed":1767603600.0,"\\u0000shared":["eligible","settings"]}'
    b'{"id":1,"api":"ryng","callback":"terminal","method":"POST","url":"http://127.0.0.1:8080/callbacks/'
    b'terminal","encoding":"json","payload":{"callID":1,"callLogID":1,"callbackType":"terminal","event":'
    b'"call-ended","agentID":31,"agentUsername":"agent@example.com","agentNum":"+919800000000",'
    b'"customerNum":"+919800000000","virtualNum":"+918000000000","callCreated":"2026-01-05T09:00:00.000Z",'
    b'"callStarted":"2026-01-05T09:00:00.000Z","callEnded":"2026-01-05T09:00:00.000Z","callDisposed":'
    b'"2026-01-05T09:00:00.000Z","callbackTime":null,"callDirection":"outbound","talktime":60,'
    b'"callDuration":60,"parentDisposition":null,"disposition":"Interested","notes":"","status":"2",'
    b'"recordingUrl":"https://recordings.example.com/ryng/1/1.mp3","legDetails":{"leg0Status":5,'
    b'"leg0Duration":60,"leg1Status":5,"leg1Duration":60},"customFieldNames":{"customField1Name":"Name"},'
    b'"customFields":{"customField1":"Lead 1"}},"state":"delivered","created_at":"2026-01-05T09:00:00.000Z",'
    b'"retry":1,"attempts":[{"at":"2026-01-05T09:00:00.000Z","status":200}],"next_attempt_at":null,'
    b'"operationId":"createCampaignTerminalCallback","event":"call-ended","callID":1,"\\u0000shared":["retry"]}'
)
"""Text that encoded calls and deliveries repeat: Zstandard finds a record's matches in it as if the record
had been preceded by it."""


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

    def __init__(self, max_shared: int = _MAX_SHARED) -> None:
        self._objects: list[Any] = []
        self._numbers: dict[int, int] = {}  # id(object) -> its number; the list keeps each id unique
        self._max_shared = max_shared
        # The dictionary is digested once, here; every record is then (de)compressed against it.
        words = zstandard.ZstdCompressionDict(_DICTIONARY, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        words.precompute_compress(level=_LEVEL)
        self._packer = zstandard.ZstdCompressor(
            level=_LEVEL, dict_data=words, write_checksum=False, write_dict_id=False
        )
        self._unpacker = zstandard.ZstdDecompressor(dict_data=words)

    def encode(self, document: Sealable) -> Sealed | Document:
        """The document as JSON, not compressed yet (``squeeze`` does that), or the document itself when
        JSON cannot hold it exactly."""
        plain = dict(document)
        refs = [name for name in document.shared if self._by_reference(plain, name)]
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

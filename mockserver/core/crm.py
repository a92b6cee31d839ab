"""A CRM as Ringotel's reference contract describes it: users, organizations, contacts, call activities
and their recordings, seeded with fake records.

Contacts are found by phone however the number is written: both sides are normalised with the
``phonenumbers`` library (E.164 in the CRM's country when the number can be read, digits only otherwise).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

import phonenumbers

from mockserver.core import errors as kinds
from mockserver.core import pages
from mockserver.core.clock import Clock, iso
from mockserver.core.fakes import Fakes
from mockserver.core.pages import Page
from mockserver.core.store import Document, StateStore

USERS = "crm:users"
ORGANIZATIONS = "crm:organizations"
CONTACTS = "crm:contacts"
ACTIVITIES = "crm:activities"
RECORDINGS = "crm:recordings"
META = "crm:meta"
ACTIVITY_SEQUENCE = "crm:activity"
ACTIVITY_FIRST = 5001  # activity ids are a-5001, a-5002, ...

# Ringotel's descriptor sends these quoted ("1729693708182"); the spec takes digits or an integer, and the
# CRM stores and answers the number.
_QUOTED_NUMBERS = frozenset({"call_start", "call_end", "call_duration"})


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


class CrmError(kinds.EngineError):
    """A refusal by the CRM."""


class NotFound(CrmError, kinds.NotFound):
    """No record has that id."""


class UnknownReference(CrmError, kinds.Conflict):
    """The body names a record that does not exist (the record in the path does)."""


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def normalise(number: str, region: str) -> str:
    """One spelling per number: E.164 when ``phonenumbers`` can read it (in ``region`` when it has no
    country code), otherwise its digits."""
    text = number.strip()
    if not digits(text):
        return ""
    attempts = [text] if text.startswith("+") else [text, "+" + digits(text)]
    for attempt in attempts:
        try:
            parsed = phonenumbers.parse(attempt, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return digits(text)


class CrmEngine:
    def __init__(
        self,
        *,
        clock: Clock,
        store: StateStore,
        make_fakes: Callable[[], Fakes],
        config: Mapping[str, Any],
        opened_status: str,
        closed_status: str,
        contact_fields: tuple[str, ...],
        activity_fields: tuple[str, ...],
    ) -> None:
        """``opened_status`` and ``closed_status``: the status an activity takes when CreateActivity or
        StopCallActivity names none (the spec's defaults, read by the handler); ``contact_fields`` and
        ``activity_fields``: what a contact and an activity hold (the properties of the spec's Contact and
        Activity schemas, read by the handler)."""
        self.clock = clock
        self.store = store
        self.make_fakes = make_fakes
        self.config = config
        self.opened_status = opened_status
        self.closed_status = closed_status
        self.contact_fields = tuple(f for f in contact_fields if f != "contact_id")  # the CRM gives the id
        self.activity_fields = activity_fields
        self.region = str(config.get("region") or make_fakes().region)

    # -- default state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        if self.store.get(META, "seeded") is not None:
            return
        fakes = self.make_fakes()
        for _ in range(int(self.config.get("users", 5))):
            first, last = fakes.first_name(), fakes.last_name()
            user_id = f"u-{self.store.next_id('crm:user', start=1001)}"
            self.store.put(
                USERS,
                user_id,
                {
                    "user_id": user_id,
                    "firstname": first,
                    "lastname": last,
                    "email": fakes.email(first, last),
                    "phone": fakes.phone(),
                },
            )
        organizations = []
        for _ in range(int(self.config.get("organizations", 3))):
            name = fakes.company()
            org_id = f"o-{self.store.next_id('crm:organization', start=3001)}"
            org = {
                "organization_id": org_id,
                "name": name,
                "phone": fakes.phone(),
                "email": fakes.email("info"),
            }
            organizations.append(org)
            self.store.put(ORGANIZATIONS, org_id, org)
        for n in range(int(self.config.get("contacts", 12))):
            first, last = fakes.first_name(), fakes.last_name()
            contact: dict[str, Any] = {
                "firstname": first,
                "lastname": last,
                "email": fakes.email(first, last),
                "phone": fakes.phone(),
            }
            if n % 2 == 0:
                contact["mobile"] = fakes.phone()
            if organizations and n % 3 != 2:
                org = organizations[n % len(organizations)]
                contact.update(
                    organization_id=org["organization_id"],
                    company_name=org["name"],
                    job_title=fakes.job_title(),
                )
            self.create_contact(contact)
        self.store.put(META, "seeded", {"at": iso(self.clock.now())})

    # -- users, organizations, contacts ------------------------------------------------------------------

    def users(self, limit: int | None = None, offset: int = 0) -> list[Document]:
        return _page(self.store.values(USERS), "user_id", limit, offset)

    def organizations(self, limit: int | None = None, offset: int = 0) -> list[Document]:
        return _page(self.store.values(ORGANIZATIONS), "organization_id", limit, offset)

    def contacts(self, limit: int | None = None, offset: int = 0) -> list[Document]:
        return _page(self.store.values(CONTACTS), "contact_id", limit, offset)

    def contact(self, contact_id: str) -> Document:
        found = self.store.get(CONTACTS, contact_id)
        if found is None:
            raise NotFound(f"No contact with id {contact_id}.")
        return found

    def find_contact(self, phone: str) -> Document | None:
        """The contact whose phone or mobile is this number, however either is written."""
        wanted = normalise(phone, self.region)
        if not wanted:
            return None
        for contact in self.contacts():
            for field in ("phone", "mobile"):
                value = contact.get(field)
                if value and normalise(str(value), self.region) == wanted:
                    return contact
        return None

    def create_contact(self, data: Mapping[str, Any]) -> Document:
        contact_id = f"c-{self.store.next_id('crm:contact', start=2001)}"
        record: Document = {"contact_id": contact_id}
        record.update({k: data[k] for k in self.contact_fields if k in data})
        self._fill_company(record)
        self.store.put(CONTACTS, contact_id, record)
        return record

    def update_contact(self, contact_id: str, change: Mapping[str, Any]) -> Document:
        record = self.contact(contact_id)
        record.update({k: change[k] for k in self.contact_fields if k in change})
        self._fill_company(record)
        self.store.put(CONTACTS, contact_id, record)
        return record

    def _fill_company(self, record: Document) -> None:
        """A contact linked to a known organization carries its name unless told otherwise."""
        org_id = record.get("organization_id")
        org = self.store.get(ORGANIZATIONS, str(org_id)) if org_id else None
        if org is not None and not record.get("company_name"):
            record["company_name"] = org["name"]

    # -- activities --------------------------------------------------------------------------------------

    def activity(self, activity_id: str) -> Document:
        found = self.store.get(ACTIVITIES, activity_id)
        if found is None:
            raise NotFound(f"No activity with id {activity_id}.")
        return found

    def activities(self) -> list[Document]:
        return sorted(self.store.values(ACTIVITIES), key=lambda a: int(a["activity_id"][2:]))

    def activity_page(self, after: int, limit: int) -> Page:
        """Activities after the number ``after`` (``a-<number>``), oldest first; O(limit)."""
        first = ACTIVITY_FIRST - 1
        last = self.store.last_id(ACTIVITY_SEQUENCE)
        return pages.forward(lambda n: self.store.get(ACTIVITIES, f"a-{n}"), max(after, first), last, limit)

    def create_activity(self, data: Mapping[str, Any]) -> Document:
        activity_id = f"a-{self.store.next_id(ACTIVITY_SEQUENCE, start=ACTIVITY_FIRST)}"
        fields = self.activity_fields
        record: Document = {field: None for field in fields}
        record.update({k: _whole(v) if k in _QUOTED_NUMBERS else v for k, v in data.items() if k in fields})
        record["activity_id"] = activity_id
        record["status"] = data.get("status") or self.opened_status
        record["recording"] = None
        record["created_at"] = iso(self.clock.now())
        self.store.put(ACTIVITIES, activity_id, record)
        return record

    def update_activity(self, activity_id: str, change: Mapping[str, Any]) -> Document:
        record = self.activity(activity_id)
        allowed = ("status", "user_id", "extension", "contact_id", "subject", "notes")
        record.update({k: change[k] for k in allowed if k in change})
        return self._save(record)

    def assign_activity(self, activity_id: str, contact_id: str) -> Document:
        record = self.activity(activity_id)
        if self.store.get(CONTACTS, contact_id) is None:
            raise UnknownReference(f"contact_id {contact_id} names no contact; create it first.")
        record["contact_id"] = contact_id
        return self._save(record)

    def stop_activity(self, activity_id: str, data: Mapping[str, Any]) -> Document:
        record = self.activity(activity_id)
        record.update(
            call_end=_whole(data["call_end"]),
            call_duration=_whole(data["call_duration"]),
            status=data.get("status") or self.closed_status,
        )
        for field in ("call_cause", "notes"):
            if field in data:
                record[field] = data[field]
        record["stopped_at"] = iso(self.clock.now())
        return self._save(record)

    def link_recording(self, activity_id: str, url: str) -> Document:
        record = self.activity(activity_id)
        self.store.delete(RECORDINGS, activity_id)
        record.update(recording_url=url, recording=None)
        return self._save(record)

    def upload_recording(
        self, activity_id: str, filename: str, content_type: str, content: bytes, url: str
    ) -> Document:
        record = self.activity(activity_id)
        meta = {
            "filename": filename,
            "content_type": content_type or "application/octet-stream",
            "size": len(content),
        }
        self.store.put(
            RECORDINGS, activity_id, {**meta, "content": base64.b64encode(content).decode("ascii")}
        )
        record.update(recording_url=url, recording=meta)
        return self._save(record)

    def recording(self, activity_id: str) -> tuple[Document, bytes]:
        self.activity(activity_id)
        found = self.store.get(RECORDINGS, activity_id)
        if found is None:
            raise NotFound(f"No recording was uploaded for activity {activity_id}.")
        return found, base64.b64decode(found["content"])

    def public_activity(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The Activity of the contract: its fields only, the optional ones left out when never set."""
        optional = ("call_cause", "notes")
        return {
            k: record.get(k) for k in self.activity_fields if not (k in optional and record.get(k) is None)
        }

    def _save(self, record: Document) -> Document:
        record["updated_at"] = iso(self.clock.now())
        self.store.put(ACTIVITIES, str(record["activity_id"]), record)
        return record


def _page(records: Any, key: str, limit: int | None, offset: int) -> list[Document]:
    """``limit`` records from ``offset`` on (every one when ``limit`` is None)."""
    ordered = sorted(records, key=lambda r: int(str(r[key]).split("-")[-1]))
    return ordered[offset : None if limit is None else offset + limit]

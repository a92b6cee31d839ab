"""The Ringotel CRM engine without HTTP: phone normalisation, seeding, activities."""

from __future__ import annotations

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.crm import CrmEngine, NotFound, UnknownReference, normalise
from mockserver.core.fakes import Fakes
from mockserver.core.store import MemoryStore


def build() -> CrmEngine:
    engine = CrmEngine(
        clock=ManualClock(), store=MemoryStore(), make_fakes=lambda: Fakes(3, "en_US"), config={}
    )
    engine.reset()
    return engine


@pytest.mark.parametrize(
    "written",
    ["+1 617-555-0123", "(617) 555-0123", "16175550123", "6175550123", "+1 (617) 555 0123", " 617.555.0123 "],
)
def test_numbers_normalise_to_one_spelling(written: str) -> None:
    assert normalise(written, "US") == normalise("+16175550123", "US")


def test_unreadable_numbers_fall_back_to_digits() -> None:
    assert normalise("ext 12", "US") == "12"
    assert normalise("no digits", "US") == ""


def test_seeding_is_repeatable_and_lookup_uses_both_numbers() -> None:
    one, two = build(), build()
    assert one.contacts() == two.contacts()
    contact = next(c for c in one.contacts() if c.get("mobile"))
    assert one.find_contact(contact["mobile"].replace("+1", "")) == contact
    assert one.find_contact("+10000000000") is None


def test_activity_steps_and_unknown_ids() -> None:
    crm = build()
    made = crm.create_activity(
        {
            "call_id": "c1",
            "activity_type": "inbound",
            "caller_number": "1",
            "called_number": "2",
            "call_start": 5,
        }
    )
    assert made["status"] == "in_progress"
    assert crm.assign_activity(made["activity_id"], "c-2001")["contact_id"] == "c-2001"
    with pytest.raises(UnknownReference):
        crm.assign_activity(made["activity_id"], "c-0")
    stopped = crm.stop_activity(made["activity_id"], {"call_end": 9, "call_duration": 4})
    assert stopped["status"] == "completed"
    crm.upload_recording(made["activity_id"], "r.mp3", "audio/mpeg", b"abc", "http://x/r")
    assert crm.recording(made["activity_id"])[1] == b"abc"
    crm.link_recording(made["activity_id"], "https://y/r.mp3")
    with pytest.raises(NotFound):
        crm.recording(made["activity_id"])

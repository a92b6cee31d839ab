"""The Ringotel CRM engine without HTTP: phone normalisation, seeding, activities."""

from __future__ import annotations

import pytest
import yaml

from contracts.loaders import specs_dir
from mockserver.core.clock import ManualClock
from mockserver.core.crm import CrmEngine, NotFound, UnknownReference, normalise
from mockserver.core.fakes import Fakes
from mockserver.core.store import MemoryStore

SCHEMAS = yaml.safe_load((specs_dir() / "ringotel-crm.yaml").read_text("utf-8"))["components"]["schemas"]


def build() -> CrmEngine:
    engine = CrmEngine(
        clock=ManualClock(),
        store=MemoryStore(),
        make_fakes=lambda: Fakes(3, "en_US"),
        config={},
        opened_status="in_progress",  # what the handler reads from ringotel-crm.yaml
        closed_status="completed",
        contact_fields=tuple(SCHEMAS["Contact"]["properties"]),  # what the handler reads from the spec
        activity_fields=tuple(SCHEMAS["Activity"]["properties"]),
    )
    engine.reset()
    return engine


@pytest.mark.parametrize(
    "written",
    ["+1 617-555-0123", "(617) 555-0123", "16175550123", "6175550123", "+1 (617) 555 0123", " 617.555.0123 "],
)
def test_numbers_normalise_to_one_spelling(written: str) -> None:
    assert normalise(written, "US") == "+16175550123"


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+1 212-555-0199", "+12125550199"),
        ("(212) 555-0199", "+12125550199"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_different_numbers_keep_different_spellings(written: str, e164: str) -> None:
    assert normalise(written, "US") == e164
    assert normalise(written, "US") != normalise("+1 617-555-0123", "US")


def test_unreadable_numbers_fall_back_to_digits() -> None:
    assert normalise("ext 12", "US") == "12"
    assert normalise("no digits", "US") == ""


def _written_locally(e164: str) -> str:
    """A US number in E.164 as people write it at home: +16175550123 -> (617) 555-0123."""
    assert e164.startswith("+1") and len(e164) == 12, e164
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def test_seeding_is_repeatable_and_lookup_uses_both_numbers() -> None:
    one, two = build(), build()
    assert one.contacts() == two.contacts()
    contacts = one.contacts()
    by_mobile = [c for c in contacts if c.get("mobile")][2]
    by_phone = [c for c in contacts if not c.get("mobile")][1]
    assert one.find_contact(_written_locally(by_mobile["mobile"])) == by_mobile
    assert one.find_contact(_written_locally(by_phone["phone"])) == by_phone
    seeded = {c.get(field) for c in contacts for field in ("phone", "mobile")}
    assert "+12125550199" not in seeded
    assert one.find_contact("+1 212-555-0199") is None


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

"""How each vendor words its errors, as the spec's ``x-mockline.errors`` says.

The mock fills the template in to answer an error, the spec checker makes sure the filled template fits
each documented error response, and ``verify`` compares real error bodies against it: one reading of the
template for all three.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_TEMPLATE: Mapping[str, Any] = {
    "type": "about:blank",
    "title": "{title}",
    "status": "{status}",
    "detail": "{message}",
}


def fill_template(template: Any, values: Mapping[str, Any]) -> Any:
    """``'{status}'`` alone becomes the value itself (an integer); placeholders inside text become text."""
    if isinstance(template, Mapping):
        return {k: fill_template(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill_template(v, values) for v in template]
    if isinstance(template, str):
        whole = re.fullmatch(r"\{(\w+)\}", template)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template)
    return template


@dataclass(frozen=True)
class ErrorShape:
    """How a vendor words its errors: a spec's ``x-mockline.errors``."""

    media_type: str
    template: Mapping[str, Any]
    validation_status: int
    auth_status: int
    auth_message: str

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ErrorShape | None:
        errors = (document.get("x-mockline") or {}).get("errors")
        if not isinstance(errors, Mapping) or not isinstance(errors.get("template"), Mapping):
            return None
        auth = errors.get("auth_failure") or {}
        return cls(
            media_type=str(errors.get("media_type", "application/json")),
            template=errors["template"],
            validation_status=int(errors.get("validation_status", 400)),
            auth_status=int(auth.get("status", 401)),
            auth_message=str(auth.get("message", "")),
        )

    @property
    def message_field(self) -> str | None:
        for key, value in self.template.items():
            if isinstance(value, str) and "{message}" in value:
                return str(key)
        return None

    def envelope_problems(self, body: Any, status: int) -> list[str]:
        """How ``body`` departs from the template filled in for ``status``."""
        if not isinstance(body, Mapping):
            return [f"the body is {type(body).__name__}, not an object"]
        problems = []
        for key, expected in self.template.items():
            if key not in body:
                problems.append(f"field {key!r} is missing")
                continue
            value = body[key]
            if expected == "{status}":
                if value not in (status, str(status)):
                    problems.append(f"field {key!r} is {value!r}, not the status {status}")
            elif isinstance(expected, str) and "{" in expected:
                if not isinstance(value, str) or not value:
                    problems.append(f"field {key!r} is {value!r}, not a non-empty string")
            elif value != expected or type(value) is not type(expected):
                problems.append(f"field {key!r} is {value!r}, not {expected!r}")
        return problems

    @classmethod
    def problem_details(cls) -> ErrorShape:
        """RFC 9457, for a spec that states no error shape of its own."""
        return cls(PROBLEM_JSON, PROBLEM_TEMPLATE, 400, 401, "Missing or invalid credentials.")

    def body(self, status: int, message: str, title: str) -> Any:
        return fill_template(self.template, {"message": message, "status": status, "title": title})

"""Seeded fake values that fit call-center fields: numbers of the vendor's country, agents, dispositions.

One ``Fakes`` per API, built from the run's seed and the API's locale, so the same seed and the same
requests give the same values.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime

import phonenumbers
from faker import Faker

from mockserver.core.clock import iso

DISPOSITIONS = (
    "Interested",
    "Not Interested",
    "Call Back Later",
    "Customer Accepted",
    "Wrong Number",
    "Requested Brochure",
    "Follow Up Scheduled",
)

_MOBILE_PREFIX = {"IN": "9", "TR": "5", "RU": "9", "US": "", "GB": "7"}


def _region(locale: str) -> str:
    return locale.split("_")[-1].upper() if "_" in locale else "US"


class Fakes:
    def __init__(self, seed: int, locale: str = "en_US", salt: str = "") -> None:
        self.locale = locale
        self.region = _region(locale)
        mixed = (seed * 1_000_003 + zlib.crc32(f"{salt}:{locale}".encode())) & 0xFFFFFFFF
        self.rng = random.Random(mixed)
        self.faker = Faker(locale)
        self.faker.seed_instance(mixed)

    def phone(self) -> str:
        """A valid mobile number of the locale's country, in E.164."""
        code = phonenumbers.country_code_for_region(self.region) or 1
        example = phonenumbers.example_number_for_type(self.region, phonenumbers.PhoneNumberType.MOBILE)
        length = len(str(example.national_number)) if example else 10
        prefix = _MOBILE_PREFIX.get(self.region, "")
        for _ in range(50):
            national = prefix + "".join(str(self.rng.randint(0, 9)) for _ in range(length - len(prefix)))
            if self.region == "US":
                national = (
                    f"{self.rng.randint(201, 989)}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
                )
            candidate = phonenumbers.parse(f"+{code}{national}")
            if phonenumbers.is_valid_number(candidate):
                return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        return f"+{code}{national}"

    def first_name(self) -> str:
        return str(self.faker.first_name())

    def last_name(self) -> str:
        return str(self.faker.last_name())

    def name(self) -> str:
        return f"{self.first_name()} {self.last_name()}"

    def email(self, first: str | None = None, last: str | None = None) -> str:
        first = _ascii(first or self.faker.first_name()) or "agent"
        last = _ascii(last or self.faker.last_name()) or str(self.rng.randint(1, 999))
        return f"{first}.{last}@example.com".lower()

    def company(self) -> str:
        return str(self.faker.company())

    def job_title(self) -> str:
        return str(self.faker.job())

    def sentence(self) -> str:
        return str(self.faker.sentence(nb_words=8))

    def url(self, path: str = "") -> str:
        return f"https://{self.faker.domain_word()}.example.com/{path or self.faker.uri_path()}"

    def recording_url(self) -> str:
        return f"https://recordings.example.com/{self.hex(32)}.mp3"

    def disposition(self) -> str:
        return self.rng.choice(DISPOSITIONS)

    def hex(self, length: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def integer(self, low: int = 1, high: int = 99_999) -> int:
        return self.rng.randint(low, high)

    def timestamp(self, moment: datetime) -> str:
        return iso(moment)


def _ascii(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum())

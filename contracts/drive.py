"""``mockline drive ringotel-crm``: play Ringotel's call workflow against any CRM that implements the
reference contract, the way Ringotel would, and say which step broke.

The steps, in order: (OAuth2 token), Users, an incoming call, FindContact, CreateContact (only when no
contact was found: otherwise it is skipped, and the report says so, never counting it as passed),
CreateActivity, AssignActivity, UpdateActivity, StopCallActivity, UpdateCallRecording. Each response must
have the step's success status and validate against ``ringotel-crm.yaml`` (openapi-core, with the spec's
server set to the base URL); the ids it answers are carried to the next step and checked where the
contract says they come back. Each activity step answers the whole stored activity, and a step keeps
what it was not sent (updateActivity's "properties that are not sent keep their value"): what an earlier
step stored, as the CRM answered it then (the contact AssignActivity linked, the notes UpdateActivity
wrote), must still be there in every later step's answer.

This module speaks HTTP only; it does not import the mock.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.deserializing.media_types.util import json_loads

from contracts import bounded, model
from contracts.errors import ContractsError
from contracts.openapi_http import OpenAPIRequest, OpenAPIResponse
from contracts.reporting.terminal import printable

CONFIG = Config(extra_media_type_deserializers={"application/problem+json": json_loads})

SPEC = "ringotel-crm"
RECORDING = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(64))


class UsageError(ContractsError, ValueError):
    """The command line does not describe a run (bad --auth, bad --base-url)."""


@dataclass(frozen=True)
class Auth:
    kind: str  # none | basic | bearer | oauth2
    first: str = ""
    second: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Auth:
        if not text:
            return cls("none")
        kind, _, rest = text.partition(":")
        kind = kind.lower()
        if kind == "bearer" and rest:
            return cls("bearer", rest)
        if kind in {"basic", "oauth2"}:
            first, sep, second = rest.partition(":")
            if sep and first:
                return cls(kind, first, second)
        raise UsageError(f"--auth takes basic:USER:PASS, bearer:TOKEN or oauth2:ID:SECRET, not {text!r}")

    def describe(self) -> str:
        return {
            "none": "no credentials",
            "basic": f"HTTP Basic as {self.first}",
            "bearer": "a Bearer API key",
            "oauth2": f"OAuth2 client credentials of {self.first}",
        }[self.kind]


@dataclass
class Step:
    name: str
    ok: bool  # it did not fail: it worked, or it was skipped (then ``skipped`` says so and nothing was sent)
    summary: str  # what it did, what went wrong, or why it was skipped
    method: str | None = None
    url: str | None = None
    status: int | None = None
    skipped: bool = False


@dataclass(frozen=True)
class Skip:
    """What a step returns instead of its summary when the workflow does not call for it."""

    reason: str  # "the caller +12025550123 was found as contact 7"


class StepFailed(ContractsError):
    """A step got an answer other than the one expected, or none: the run stops and reports it."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Report:
    base_url: str
    steps: list[Step] = field(default_factory=list)
    failed: Step | None = None
    connection_error: bool = False

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def ran(self) -> list[Step]:
        """The steps that were played (and did not fail), skipped ones left out."""
        return [s for s in self.steps if s.ok and not s.skipped]

    @property
    def skipped(self) -> list[Step]:
        return [s for s in self.steps if s.skipped]

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        return 2 if self.connection_error else 1


def contract(base_url: str) -> OpenAPI:
    """The reference contract with its server set to the CRM under test."""
    document = copy.deepcopy(dict(model.contract(SPEC).raw))
    document["servers"] = [{"url": base_url.rstrip("/")}]
    return OpenAPI.from_dict(document, config=CONFIG)


def _problems(exc: BaseException) -> str:
    """openapi-core's error, with the schema errors that caused it spelled out."""
    parts = [str(exc)]
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            parts = [f"{type(exc).__name__}: " + "; ".join(_schema_error(e) for e in errors)]
            break
        parts.append(str(cause))
        cause = cause.__cause__
    return " <- ".join(p for p in parts if p)


def _schema_error(error: Any) -> str:
    where = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
    message = getattr(error, "message", str(error))
    return f"{where or 'body'}: {message}"


# -- the workflow ----------------------------------------------------------------------------------------


Say = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


class Driver:
    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        caller: str | None = None,
        recording_url: str | None = None,
        timeout: float = 10.0,
        seed: int | None = None,
        say: Say = _print,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.transport = transport
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.caller = caller or f"+1202555{self.rng.randint(0, 9999):04d}"
        self.recording_url = recording_url
        self._say = say
        self.report = Report(self.base_url)
        self.openapi = contract(self.base_url)
        self.headers: dict[str, str] = {}
        self.basic: tuple[str, str] | None = None
        self.carried: dict[str, Any] = {}
        # The activity's fields earlier steps stored, as the CRM answered them: later steps must keep them.
        self.stored: dict[str, Any] = {}
        self._last: tuple[str, str, int | None] = ("", "", None)

    def say(self, line: str) -> None:
        """Print one line; any line may quote what the CRM answered, so its control characters are
        spelt out."""
        self._say(printable(line))

    async def run(self) -> Report:
        steps: list[tuple[str, Callable[[httpx.AsyncClient], Any]]] = []
        if self.auth.kind == "oauth2":
            steps.append(("OAuth2 token", self.token))
        steps += [
            ("Users", self.users),
            ("Incoming call", self.incoming_call),
            ("FindContact", self.find_contact),
            ("CreateContact", self.create_contact),
            ("CreateActivity", self.create_activity),
            ("AssignActivity", self.assign_activity),
            ("UpdateActivity", self.update_activity),
            ("StopCallActivity", self.stop_call_activity),
            ("UpdateCallRecording", self.update_call_recording),
        ]
        self.say(f"mockline drive {SPEC}: {self.base_url} with {self.auth.describe()}")
        if self.auth.kind == "basic":
            self.basic = (self.auth.first, self.auth.second)
        elif self.auth.kind == "bearer":
            self.headers["authorization"] = f"Bearer {self.auth.first}"
        async with bounded.async_client(self.timeout, transport=self.transport) as client:
            for number, (name, run) in enumerate(steps, 1):
                label = f"[{number}/{len(steps)}] {name}"
                self._last = ("", "", None)
                try:
                    summary = await run(client)
                except StepFailed as exc:
                    method, url, status = self._last
                    step = Step(name, False, printable(exc.message), method or None, url or None, status)
                    self.report.steps.append(step)
                    self.report.failed = step
                    where = f" ({method} {url})" if method else ""
                    self.say(f"{label:<28} FAILED{where}\n      {step.summary}")
                    break
                method, url, status = self._last
                if isinstance(summary, Skip):
                    self.report.steps.append(Step(name, True, printable(summary.reason), skipped=True))
                    self.say(f"{label:<28} skipped {summary.reason}")
                    continue
                summary = printable(summary)  # it may quote what the CRM answered
                self.report.steps.append(Step(name, True, summary, method or None, url or None, status))
                self.say(f"{label:<28} ok    {summary}")
        ran = len(self.report.ran)
        skipped = self.report.skipped
        why = ", ".join(f"{s.name}: {s.summary}" for s in skipped)
        also = f"; {len(skipped)} skipped ({why})" if skipped else ""
        if self.report.failed is not None:
            self.say(
                f"FAILED at step {self.report.failed.name}: {ran} of {len(steps)} steps passed{also}.\n"
                f"  {self.report.failed.summary}"
            )
        elif skipped:
            self.say(
                f"PASSED: the {ran} steps of Ringotel's call workflow that ran worked against "
                f"{self.base_url}{also}"
            )
        else:
            self.say(f"PASSED: all {ran} steps of Ringotel's call workflow worked against {self.base_url}")
        return self.report

    # -- HTTP with checks -------------------------------------------------------------------------------

    async def call(
        self,
        client: httpx.AsyncClient,
        operation_id: str,
        what: str,
        path_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send one operation of the spec (its method and path, the path's parameters filled in); the
        answer must have the operation's documented success status and validate against the contract."""
        operation = model.contract(SPEC).operation(operation_id)
        method, expect = operation.method, operation.success_status
        path = operation.path
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", str(value))
        url = self.base_url + path
        self._last = (method, url, None)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            # The whole answer, head and body, within the timeout (bounded.async_client bounds its size).
            async with asyncio.timeout(self.timeout):
                response = await client.request(method, url, headers=headers, auth=self.basic, **kwargs)
        except (httpx.HTTPError, TimeoutError) as exc:
            self.report.connection_error = True
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError | httpx.TimeoutException) and not isinstance(
                exc, bounded.AnswerTimeout
            ):
                reason = f"no whole answer within the {self.timeout:g} s timeout ({reason})"
            raise StepFailed(f"expected {expect} with {what}, but the request failed: {reason}") from None
        self._last = (method, url, response.status_code)
        if response.status_code != expect:
            raise StepFailed(
                f"expected {expect} with {what}, got {response.status_code}: {_excerpt(response)}",
                response.status_code,
            )
        try:
            self.openapi.validate_response(OpenAPIRequest(response.request), OpenAPIResponse(response))
        except Exception as exc:
            raise StepFailed(
                f"expected {what} as the contract defines it, got a response that does not validate: "
                f"{_problems(exc)}; body: {_excerpt(response)}",
                response.status_code,
            ) from None
        try:
            return response.json()
        except ValueError:
            raise StepFailed(f"expected {what} as JSON, got: {_excerpt(response)}") from None

    def same(self, body: Mapping[str, Any], field_name: str, sent: Any, what: str) -> None:
        if body.get(field_name) != sent:
            raise StepFailed(
                f"expected {what}: {field_name} = {json.dumps(sent)}, got {field_name} = "
                f"{json.dumps(body.get(field_name))}"
            )

    def keeps(self, body: Mapping[str, Any], sent: Iterable[str], step: str) -> None:
        """The activity ``body`` still holds what earlier steps stored and this step did not send (the
        fields ``sent``); then what it sent is stored too, as the CRM answered it."""
        sent = set(sent)
        for name, value in self.stored.items():
            if name not in sent:
                self.same(body, name, value, f"{step} to keep what it was not sent")
        self.stored.update({name: body.get(name) for name in sent})

    # -- the steps -----------------------------------------------------------------------------------------

    async def token(self, client: httpx.AsyncClient) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.auth.first,
            "client_secret": self.auth.second,
        }
        body = await self.call(client, "issueToken", "an access token", data=form)
        self.headers["authorization"] = f"Bearer {body['access_token']}"
        return f"token for {self.auth.first}, valid {body['expires_in']} s"

    async def users(self, client: httpx.AsyncClient) -> str:
        body = await self.call(client, "listUsers", "the list of CRM users")
        records = body["records"]
        self.carried["user_id"] = records[0]["user_id"] if records else None
        first = f"; the call goes to user {records[0]['user_id']}" if records else ""
        return f"{len(records)} user(s){first}"

    async def incoming_call(self, client: httpx.AsyncClient) -> str:
        start = int(time.time() * 1000)
        self.carried.update(
            call_id=f"{start}-{self.rng.getrandbits(72):018x}",
            call_start=start,
            caller_number=self.caller,
            called_number="+12025550199",
        )
        return f"call {self.carried['call_id']} from {self.caller} to +12025550199"

    async def find_contact(self, client: httpx.AsyncClient) -> str:
        body = await self.call(client, "findContact", "zero or one contact", params={"phone": self.caller})
        records = body["records"]
        if records:
            self.carried["contact_id"] = records[0]["contact_id"]
            return f"{self.caller} is contact {records[0]['contact_id']}"
        self.carried["contact_id"] = None
        return f"no contact has {self.caller}"

    async def create_contact(self, client: httpx.AsyncClient) -> str | Skip:
        if self.carried.get("contact_id"):
            return Skip(f"the caller {self.caller} was found as contact {self.carried['contact_id']}")
        sent = {"phone": self.caller, "firstname": "Unknown", "lastname": f"Caller {self.caller[-4:]}"}
        body = await self.call(client, "createContact", "the created contact", json=sent)
        self.carried["contact_id"] = body["contact_id"]
        return f"contact {body['contact_id']} created for {self.caller}"

    async def create_activity(self, client: httpx.AsyncClient) -> str:
        sent = {
            "call_id": self.carried["call_id"],
            "activity_type": "inbound",
            "caller_number": self.caller,
            "called_number": self.carried["called_number"],
            "call_start": self.carried["call_start"],
            "extension": "101",
            "domain": "mockline.ringotel.example",
            "subject": f"Inbound call from {self.caller}",
        }
        if self.carried.get("user_id"):
            sent["user_id"] = self.carried["user_id"]
        body = await self.call(client, "createActivity", "the created activity", json=sent)
        self.same(body, "call_id", sent["call_id"], "the activity of this call")
        opened = model.contract(SPEC).operation("createActivity").body_default("status")
        if opened is not None:  # a spec that defaults no status leaves the CRM free to choose
            self.same(body, "status", opened, "a new activity with the status the spec defaults it to")
        self.carried["activity_id"] = body["activity_id"]
        self.keeps(body, sent, "CreateActivity")  # nothing stored yet: what it sent is
        return f"activity {body['activity_id']} for call {sent['call_id']}"

    def _activity(self) -> dict[str, Any]:
        return {"activity_id": self.carried["activity_id"]}

    async def assign_activity(self, client: httpx.AsyncClient) -> str:
        contact_id = self.carried["contact_id"]
        body = await self.call(
            client,
            "assignActivity",
            "the activity linked to the contact",
            self._activity(),
            json={"contact_id": contact_id},
        )
        self.same(body, "activity_id", self.carried["activity_id"], "the same activity back")
        self.same(body, "contact_id", contact_id, "the activity linked to the contact")
        self.keeps(body, ["contact_id"], "AssignActivity")
        return f"activity {body['activity_id']} linked to contact {contact_id}"

    async def update_activity(self, client: httpx.AsyncClient) -> str:
        notes = "Caller asked for a quote; call back tomorrow."
        body = await self.call(
            client, "updateActivity", "the updated activity", self._activity(), json={"notes": notes}
        )
        self.same(body, "activity_id", self.carried["activity_id"], "the same activity back")
        self.same(body, "notes", notes, "the notes just sent")
        self.keeps(body, ["notes"], "UpdateActivity")
        return "notes stored"

    async def stop_call_activity(self, client: httpx.AsyncClient) -> str:
        duration = 127
        sent = {
            "call_end": self.carried["call_start"] + duration * 1000,
            "call_duration": duration,
            "status": "completed",
            "call_cause": "0",
        }
        body = await self.call(client, "stopCallActivity", "the closed activity", self._activity(), json=sent)
        self.same(body, "activity_id", self.carried["activity_id"], "the same activity back")
        self.same(body, "status", "completed", "the activity closed")
        self.same(body, "call_end", sent["call_end"], "the end time just sent")
        self.same(body, "call_duration", duration, "the duration just sent")
        self.keeps(body, sent, "StopCallActivity")
        return f"closed after {duration} s"

    async def update_call_recording(self, client: httpx.AsyncClient) -> str:
        if self.recording_url:
            body = await self.call(
                client,
                "updateCallRecording",
                "the activity with its recording",
                self._activity(),
                json={"recording_url": self.recording_url},
            )
            self.same(body, "recording_url", self.recording_url, "the recording link just sent")
        else:
            files = {"file": ("recording.mp3", RECORDING, "audio/mpeg")}
            body = await self.call(
                client,
                "updateCallRecording",
                "the activity with its recording",
                self._activity(),
                files=files,
            )
            if not body.get("recording_url"):
                raise StepFailed(
                    "expected the activity's recording_url to say where the uploaded file is kept, "
                    f"got recording_url = {json.dumps(body.get('recording_url'))}"
                )
        self.same(body, "activity_id", self.carried["activity_id"], "the same activity back")
        self.keeps(body, ["recording_url"], "UpdateCallRecording")
        return f"recording at {body['recording_url']}"


def _excerpt(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    if not text:
        return "(empty body)"
    return text if len(text) <= limit else text[:limit] + "..."


async def drive(
    base_url: str,
    auth: Auth,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    caller: str | None = None,
    recording_url: str | None = None,
    timeout: float = 10.0,
    seed: int | None = None,
    say: Say = _print,
) -> Report:
    """Run the workflow once; the report says which step failed, if any."""
    driver = Driver(
        base_url,
        auth,
        transport=transport,
        caller=caller,
        recording_url=recording_url,
        timeout=timeout,
        seed=seed,
        say=say,
    )
    return await driver.run()

"""The request path of the mock, as one Connexion ``SpecMiddleware``.

The contract model reads each spec (``$ref`` resolved) and Connexion serves it (``add_api``); from there
every request to an API's operations is routed, rate limited, authenticated, validated against precompiled schemas and
answered here, in the vendor's own error shape. Requests for Swagger UI and the spec documents go on to
Connexion's own middlewares. Connexion's per-request stack is not on this path: it costs ~650 us a
request, against tens of microseconds here (see bench/).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import re
import time
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from connexion.middleware.abstract import SpecMiddleware
from connexion.spec import Specification
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.model import ADMIN_SPEC, ErrorShape, RateLimit, form_decode
from mockserver import auth, dashboard, jsonbody, origins
from mockserver.core.errors import EngineError
from mockserver.core.store import StoreUnavailable
from mockserver.errors import ApiError, refusal
from mockserver.exchange import Call, Reply, Upload
from mockserver.operations import Api, Operation, Parameter
from mockserver.registry import Registry
from mockserver.responses import (
    error_reply,
    examples_of,
    find_example,
    named_example,
    reply_headers,
    spec_reply,
)
from mockserver.runtime import Runtime
from mockserver.schemas import CoercionError, CompiledSchema, Problem, coerce
from mockserver.sse import EventStream

log = logging.getLogger("mockline")

_PASS_THROUGH = ("/ui", "/openapi.json", "/openapi.yaml", "/swagger.json", "/openapi-3.1.json")
_MAX_BODY = 20 * 1024 * 1024
_TOO_LARGE = "The request body is larger than 20 MiB"
_MAX_PROBLEM = 300  # characters of one validation problem in an answer (a schema echoes what it got)
BODY_TIMEOUT_KEY = "mockline.body_timeout"
"""Set in the ASGI scope by the server (``mockserver.listener``) when a body stopped arriving in time."""
_CLOSE = {"connection": "close"}
_STATUS = re.compile(r"[1-5][0-9][0-9]")  # what Prefer: code= may ask for
_RANGE = re.compile(r"[1-5]XX")
_PAUSE = 0.001  # a timer, not sleep(0): requests that arrived meanwhile run before the next step


class MockMiddleware(SpecMiddleware):
    def __init__(self, app: ASGIApp, *, runtime: Runtime, registry: Registry) -> None:
        self.app = app
        self.runtime = runtime
        self.registry = registry
        self._by_prefix: list[tuple[str, Api]] = []
        self._lifespan_tasks: list[asyncio.Task[None]] = []

    def add_api(self, specification: Specification, **kwargs: Any) -> None:
        """Connexion registers each spec here; the API was compiled by create_app already."""
        api = self.runtime.apis[kwargs["mockline_api"]]
        self._by_prefix.append((api.prefix, api))
        self._by_prefix.sort(key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix, api in self._by_prefix:
                if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                    rest = path[len(prefix) :] or "/"
                    if rest.startswith(_PASS_THROUGH):
                        break
                    if not prefix and dashboard.owns(path) and api.match(rest) is None:
                        break  # an API served at the root leaves the dashboard its paths, unless it has them
                    await self._serve(api, rest, scope, receive, send)
                    return
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.app(scope, receive, send)

    async def _serve(self, api: Api, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        # ASGI servers give header names in lower case already.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query: bytes = scope.get("query_string", b"")
        query_string = raw_query.decode("latin-1") if raw_query else ""
        entry: dict[str, Any] = {
            "at": self.runtime.clock.now(),
            "api": api.name,
            "method": method,
            "path": scope["path"],
            "query": query_string,
            "operationId": None,
            "status": None,
            "validation_errors": (),
            "headers": headers,
        }
        call: Call | None = None
        try:
            operation, path_params = self._route(api, rest, method)
            entry["operationId"] = operation.operation_id
            call = Call(operation, path_params, {}, headers, None, None)
            if api.rate_limit and self.runtime.settings.rate_limit:
                await self._limit(api.name, call, api.rate_limit)
            problems = self._admit(api, call, query_string)
            problems += await self._body(api, call, scope, receive)
            if problems:
                entry["validation_errors"] = tuple(_brief(p) for p in problems)
                first = "; ".join(_brief(p) for p in problems[:3])
                more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
                raise ApiError(api.errors.validation_status, f"{first}{more}")
            reply = await self._answer(api, call)
        except ApiError as exc:
            reply = self._error(api, call, exc)
            entry["error"] = exc.message
            if exc.problems:
                entry["detail"] = exc.problems
        except StoreUnavailable as exc:  # shared state (Redis) unreachable: nothing was done, try again
            log.warning("state unavailable on %s %s: %s", method, scope["path"], exc)
            unavailable = ApiError(
                503, f"The mock's state is unavailable: {exc}", headers={"retry-after": "1"}
            )
            reply = self._error(api, call, unavailable)
            entry["error"] = unavailable.message
        except Exception as exc:  # a bug in the mock: say so in the vendor's shape, keep serving
            log.error("unhandled error on %s %s\n%s", method, scope["path"], traceback.format_exc())
            reply = self._error(api, call, ApiError(500, f"mockline internal error: {exc!r}"))
        if isinstance(reply.body, EventStream):  # a stream is journaled as it starts: it may never end
            entry["status"] = reply.status
            self.runtime.journal.record(entry)
            await reply.body.respond(reply.status, send, receive)
            return
        await self._send(api, call, reply, send)
        entry["status"] = reply.status
        if call is not None and call.body is not None:
            if call.raw_json:
                entry["body_json"] = call.raw_json
            else:
                entry["body"] = call.body
        self.runtime.journal.record(entry)
        self.runtime.events.publish("request", entry)
        if self.runtime.access_log is not None:
            self.runtime.access_log.write(entry, time.perf_counter() - started)

    def _route(self, api: Api, rest: str, method: str) -> tuple[Operation, dict[str, Any]]:
        found = api.match(rest)
        if found is None:
            raise ApiError(404, f"No operation of the {api.name} API matches {rest}")
        route, raw_params = found
        operation = route.operations.get(method)
        if operation is None:
            allowed = ", ".join(sorted(route.operations))
            raise ApiError(
                405, f"{method} is not allowed on {route.template}; use {allowed}", headers={"allow": allowed}
            )
        return operation, raw_params

    async def _limit(self, api_name: str, call: Call, rate: RateLimit) -> None:
        """The API's rate limit (refused at once, before anything else is looked at)."""
        per = rate.per.lower()
        key = call.headers.get(per, "") or "anonymous"
        limit, window = rate.requests, rate.window_seconds
        if await self.runtime.count_request(api_name, key, window) > limit:
            # The window is fixed on the mock clock: the client may try again when it turns over.
            retry_after = math.ceil(window - self.runtime.clock.stamp() % window)
            raise ApiError(
                429,
                f"Rate limit exceeded: at most {limit} requests per {window} s for each {per}",
                headers={"retry-after": str(retry_after)},
            )

    def _admit(self, api: Api, call: Call, query_string: str) -> list[Problem]:
        """Credentials (refused at once), then what is wrong with the parameters."""
        runtime = self.runtime
        operation = call.operation
        if api.name == ADMIN_SPEC:
            if runtime.settings.admin_token:
                _check_admin_token(api, call.headers, runtime.settings.admin_token, operation.method)
            else:
                refused = origins.refusal(operation.method, call.headers, None)
                if refused is not None:
                    raise ApiError(origins.STATUS, refused, problems=[refused])
        query_raw = parse_qs(query_string, keep_blank_values=True) if query_string else {}
        call.query = {k: v if len(v) > 1 else v[0] for k, v in query_raw.items()}
        verdict = auth.check(
            operation.security,
            api.security_schemes,
            call.headers,
            call.query,
            runtime.settings.credentials_for(api.name),
            runtime.tokens_for(api.name),
        )
        if not verdict.ok:
            message = api.errors.auth_message
            if api.errors.media_type == "application/problem+json":
                message = f"{message} ({verdict.reason})"
            raise ApiError(api.errors.auth_status, message, problems=[verdict.reason])
        call.principal = verdict.principal
        prefer = call.headers.get("prefer")
        if prefer:
            call.prefer = _prefer(prefer)
        return self._parameters(call, query_raw)

    def _parameters(self, call: Call, query_raw: Mapping[str, list[str]]) -> list[Problem]:
        problems: list[Problem] = []
        for param in call.operation.parameters:
            if param.location == "path":
                raw: Any = call.path_params.get(param.name)
            elif param.location == "query":
                if param.schema.get("type") == "object":
                    problems += self._object_query(call, param, query_raw)
                    continue
                raw = query_raw.get(param.name)
                if raw is not None and param.schema.get("type") != "array":
                    raw = raw[-1]
                elif raw is not None and (delimiter := param.delimiter) is not None:
                    raw = raw[-1].split(delimiter) if raw[-1] else []
            elif param.location == "header":
                raw = call.headers.get(param.name.lower())
            else:
                continue
            # an empty header or query value is still a value, checked against the schema
            if raw is None or (raw == "" and param.location == "path"):
                if param.required:
                    problems.append(Problem(param.where, "is required"))
                continue
            try:
                value = coerce(raw, param.schema)
            except CoercionError as exc:
                problems.append(Problem(param.where, str(exc)))
                continue
            problems += param.compiled.problems(value, param.where)
            if param.location == "path":
                call.path_params[param.name] = value
            elif param.location == "query":
                call.query[param.name] = value
        return problems

    def _object_query(
        self, call: Call, param: Parameter, query_raw: Mapping[str, list[str]]
    ) -> list[Problem]:
        """An object in the query, in its style: ``filter[owner]=bob`` (deepObject), ``owner=bob`` (form,
        exploded: the declared properties), ``filter=owner,bob`` (form, not exploded: names and values in
        pairs; ``filter=`` is an empty object)."""
        schema = param.schema
        properties: Mapping[str, Any] = schema.get("properties") or {}
        style, explode = param.spec.style, param.spec.explode
        texts: dict[str, str] = {}
        if style == "deepObject":
            opening = f"{param.name}["
            for key, values in query_raw.items():
                if key.startswith(opening) and key.endswith("]"):
                    texts[key[len(opening) : -1]] = values[-1]
        elif explode:
            texts = {name: query_raw[name][-1] for name in properties if name in query_raw}
        elif param.name in query_raw:
            text = query_raw[param.name][-1]
            parts = text.split(",") if text else []
            if len(parts) % 2:
                return [
                    Problem(param.where, f"must be names and values in pairs (name,value,...), not {text!r}")
                ]
            texts = dict(zip(parts[::2], parts[1::2], strict=True))
        if not texts and (style == "deepObject" or explode or param.name not in query_raw):
            return [Problem(param.where, "is required")] if param.required else []
        extra = schema.get("additionalProperties")
        value: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, text in texts.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else {})
            try:
                value[key] = coerce(text, sub)
            except CoercionError as exc:
                problems.append(Problem(f"{param.where}.{key}", str(exc)))
        if problems:
            return problems
        call.query[param.name] = value
        return param.compiled.problems(value, param.where)

    async def _body(self, api: Api, call: Call, scope: Scope, receive: Receive) -> list[Problem]:
        announced = call.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > _MAX_BODY:
            raise ApiError(413, _TOO_LARGE, headers=_CLOSE)  # refused before it is sent
        message = await receive()
        raw: bytes = message.get("body", b"")
        if message.get("more_body"):
            raw = await _read_rest(receive, raw)
        elif len(raw) > _MAX_BODY:
            raise ApiError(413, _TOO_LARGE, headers=_CLOSE)
        if scope.get(BODY_TIMEOUT_KEY) or message["type"] == "http.disconnect":
            seconds = scope.get(BODY_TIMEOUT_KEY)
            within = f" within {seconds:g} s" if seconds else ""
            raise ApiError(408, f"The request body did not arrive{within}", headers=_CLOSE)
        body_spec = call.operation.body
        if body_spec is None:
            return []
        content_type = call.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if not raw and not (_EMPTY_IS_A_BODY.match(media_type) and body_spec.accepts(media_type)):
            return [Problem("body", "is required")] if body_spec.required else []
        schema = body_spec.accepts(media_type) if media_type else None
        if schema is None:
            accepted = ", ".join(body_spec.media)
            sent = media_type or "no Content-Type"
            return [Problem("body", f"is {sent}; send one of: {accepted}")]
        call.media_type = media_type
        try:
            if media_type.endswith("json"):
                if len(raw) > jsonbody.LARGE_BODY:
                    # Off the event loop, in slices the interpreter can switch between (see jsonbody).
                    call.body = await asyncio.to_thread(jsonbody.parse_gradually, raw)
                    call.raw_json = raw
                    too_many = _over_max_items(call.body, schema.source, "body")
                    if too_many:
                        return too_many
                    await asyncio.sleep(_PAUSE)  # let others in between the read and the validation
                else:
                    call.body = jsonbody.parse(raw)
                    call.raw_json = raw
            elif media_type == "application/x-www-form-urlencoded":
                call.body = _typed_form(form_decode(raw.decode("utf-8"), schema.source), schema.source)
            elif media_type == "multipart/form-data":
                try:
                    call.body, call.files = await _multipart(scope, raw, schema.source)
                except CoercionError:
                    raise
                except Exception as exc:  # python-multipart and Starlette raise several unrelated types
                    return [Problem("body", f"is not valid multipart/form-data: {exc}")]
            elif media_type.startswith("text/"):
                call.body = raw.decode("utf-8")
            else:
                call.body = raw
        except UnicodeDecodeError:
            return [Problem("body", "is not valid UTF-8")]
        except jsonbody.TooDeep as exc:
            return [Problem("body", f"is {media_type} {exc}")]
        except jsonbody.NotFinite as exc:  # a ValueError too: NaN, Infinity or 1e400, named
            return [Problem(exc.location, exc.rule)]
        except RecursionError:
            return [Problem("body", f"is {media_type} nested too deeply to read")]
        except CoercionError as exc:  # a ValueError too: a form field, named
            return [Problem(exc.location, str(exc))]
        except (json.JSONDecodeError, ValueError) as exc:
            return [Problem("body", f"is not valid {media_type}: {exc}")]
        if isinstance(call.body, bytes):
            # bytes (application/octet-stream, an image): a string schema is checked on them as text of
            # one character a byte (its lengths); a body of another kind (XML) is not read
            kind = schema.source.get("type")
            return schema.problems(call.body.decode("latin-1")) if kind in (None, "string") else []
        if len(raw) <= jsonbody.LARGE_BODY:
            return schema.problems(call.body)
        problems = await _problems_in_steps(schema, call.body)
        await asyncio.sleep(_PAUSE)  # and between the validation and the handler
        return problems

    async def _answer(self, api: Api, call: Call) -> Reply:
        runtime = self.runtime
        operation = call.operation
        # The control plane is never faulted: it is how faults are turned off again.
        fault = (
            None if api.name == ADMIN_SPEC else runtime.faults.for_operation(api.name, operation.operation_id)
        )
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if runtime.faults.roll(fault):
                return error_reply(call, runtime, fault.status, "Fault injected through /__admin/faults")
        if "code" in call.prefer:
            return self._preferred_code(api, call)
        if "example" in call.prefer:
            found = find_example(operation, call.prefer["example"])
            if found is None:
                names = sorted(
                    {n for c in operation.responses if c.isdigit() for n in examples_of(operation, int(c))}
                )
                raise ApiError(
                    api.errors.validation_status,
                    f"Prefer: example={call.prefer['example']} names no example of {operation.operation_id};"
                    f" its examples are: {', '.join(names) or 'none'}",
                )
            status, media_type, value = found
            return Reply(status, value, media_type, reply_headers(call, runtime, status))
        if call.prefer.get("dynamic") == "true":
            # Like every Prefer override, answered from the spec alone: the handler does not run, so the
            # request changes no state and sends no callback.
            return spec_reply(call, runtime)
        handler = self.registry.get(api.name, operation.operation_id)
        if handler is None:
            return spec_reply(call, runtime)
        # Everything a handler stores is committed in one transaction before the answer is sent (an engine
        # refusal rolls it back). An async handler (the clock's advance) gets none: the timeline commits
        # each step on its own.
        try:
            run_unit = getattr(runtime.store, "run_unit_async", None)  # a shared store: without its lock
            if run_unit is not None:  # if it can; waiting on another process's unit, it yields to the loop
                result = await run_unit(lambda: handler(call, runtime))
            else:
                with runtime.store.transaction():
                    result = handler(call, runtime)
            return result if isinstance(result, Reply) else await result
        except EngineError as exc:  # every engine refusal, as the status the operation documents for it
            raise refusal(exc, operation.responses, api.errors.validation_status) from None

    def _preferred_code(self, api: Api, call: Call) -> Reply:
        """``Prefer: code=STATUS``: the response documented for that status, by its own code or its range's
        (``4XX``); else by ``default``, which documents every status not listed (OpenAPI), for a final
        answer (200-599), from its own content."""
        operation = call.operation
        code = call.prefer["code"]
        if not _STATUS.fullmatch(code):
            raise ApiError(
                api.errors.validation_status,
                f"Prefer: code={code} is not an HTTP status (a number from 100 to 599)",
            )
        status = int(code)
        listed = operation.listed(status) is not None
        if not listed and (status < 200 or "default" not in operation.responses):
            documented = [c for c in operation.responses if c.isdigit() or _RANGE.fullmatch(c)]
            if "default" in operation.responses:
                documented.append("default (200-599)")
            raise ApiError(
                api.errors.validation_status,
                f"Prefer: code={code} is not a documented response of {operation.operation_id};"
                f" documented: {', '.join(documented)}",
            )
        if "example" in call.prefer:
            return named_example(call, self.runtime, status, call.prefer["example"])
        if status >= 400 and listed:
            return error_reply(
                call,
                self.runtime,
                status,
                f"Response {status} requested with a Prefer header",
                preferred=True,
            )
        return spec_reply(call, self.runtime, status)

    def _error(self, api: Api, call: Call | None, error: ApiError) -> Reply:
        headers = dict(error.headers)
        if error.status == 401 and call is not None:
            headers["www-authenticate"] = _challenge(api, call.operation)
        body = api.errors.body(error.status, error.message, error.title)
        return Reply(error.status, body, api.errors.media_type, headers)

    async def _send(self, api: Api, call: Call | None, reply: Reply, send: Send) -> None:
        media_type = reply.media_type
        if media_type is None and call is not None:
            media_type = call.operation.media_type(reply.status)
        if reply.body is None:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str) and not (media_type or "").endswith("json"):
            payload = reply.body.encode("utf-8")
        else:
            payload = jsonbody.encode(reply.body)
            media_type = media_type or "application/json"
        raw_headers = [(b"content-length", str(len(payload)).encode())]
        if payload and media_type:
            raw_headers.append((b"content-type", media_type.encode()))
        raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.runtime.clock.mode == "realtime":
                    self._lifespan_tasks.append(asyncio.create_task(run_clock(self.runtime)))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._lifespan_tasks:
                    task.cancel()
                if self.runtime.access_log is not None:
                    self.runtime.access_log.flush()
                close = getattr(self.runtime.outbox.transport, "close", None)
                if close is not None:
                    await close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def run_clock(runtime: Runtime) -> None:
    """In realtime mode, run jobs as they fall due (sleeping no longer than a second at a time)."""
    timeline = runtime.timeline
    while True:
        due = await timeline.next_due_async()
        wait = 1.0 if due is None else min(1.0, runtime.clock.seconds_until(due))
        if wait > 0:
            timeline.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(timeline.wakeup.wait(), timeout=wait)
        try:
            await timeline.run_due()
        except Exception:
            log.error("a scheduled job failed\n%s", traceback.format_exc())


def _brief(problem: Problem) -> str:
    """A problem as words, cut short: a schema's message quotes the value it got, which can be huge."""
    text = str(problem)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 3] + "..."


def _check_admin_token(api: Api, headers: Mapping[str, str], token: str, method: str) -> None:
    """The control plane, when it has a token (always, off loopback), takes ``Authorization: Bearer``, or
    the dashboard's cookie for what the mock's own page sends (``origins``)."""
    scheme, _, sent = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
        return
    if not sent and origins.cookie_holds(headers, token):
        refused = origins.cross_site(method, headers)
        if refused is not None:
            raise ApiError(origins.STATUS, refused, problems=[refused])
        return
    reason = "a wrong admin token was sent" if sent else "no admin token was sent"
    raise ApiError(api.errors.auth_status, f"{api.errors.auth_message} ({reason})", problems=[reason])


def _over_max_items(value: Any, schema: Mapping[str, Any], where: str) -> list[Problem]:
    """Arrays longer than their schema's ``maxItems``, found without visiting their items: a schema
    validator's message for such an array quotes all of it, which for a big push takes seconds."""
    if isinstance(value, list):
        limit = schema.get("maxItems")
        if isinstance(limit, int) and len(value) > limit:
            return [Problem(where, f"has {len(value)} items; at most {limit} are accepted")]
        return []
    if not isinstance(value, dict):
        return []
    found: list[Problem] = []
    for part in (schema, *schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        for name, prop in (part.get("properties") or {}).items():
            if name in value and isinstance(prop, Mapping):
                found += _over_max_items(value[name], prop, f"{where}.{name}")
    return found[:1]


_ITEMS_STEP = 5_000  # array items validated in one step (about 2 ms for Ryng's records here)
_item_schemas: dict[int, tuple[Mapping[str, Any], CompiledSchema]] = {}


async def _problems_in_steps(schema: CompiledSchema, body: Any) -> list[Problem]:
    """What ``schema.problems(body)`` says, with the body's longest array checked ``_ITEMS_STEP`` items
    at a time and other requests let in between (100,000 records take 30-55 ms in one go)."""
    found = _longest_array(body, schema.source, ())
    if found is None or len(found[1]) <= _ITEMS_STEP:
        return schema.problems(body)
    path, items, array_schema = found
    where = "body" + "".join(f".{key}" for key in path)
    keep = max(1, int(array_schema.get("minItems") or 1))
    # Everything but the items, on the body with the array cut to its first items (they are checked
    # again below with the rest, so what is said of them here is dropped).
    item_at = re.compile(re.escape(where) + r"\[(\d+)\]")
    problems = [
        p for p in schema.problems(_replaced(body, path, items[:keep])) if not item_at.match(p.location)
    ]
    compiled = _items_schema(array_schema, schema.document)
    for start in range(0, len(items), _ITEMS_STEP):
        await asyncio.sleep(_PAUSE)
        for problem in compiled.problems(items[start : start + _ITEMS_STEP], where):
            index = item_at.match(problem.location)
            location = problem.location
            if index is not None:
                location = f"{where}[{int(index[1]) + start}]{location[index.end() :]}"
            problems.append(Problem(location, problem.message))
    problems.sort(key=lambda p: (p.location, p.message))
    return problems


def _longest_array(
    value: Any, schema: Mapping[str, Any], path: tuple[str, ...]
) -> tuple[tuple[str, ...], list[Any], Mapping[str, Any]] | None:
    """The longest array with an ``items`` schema reached through object properties."""
    if isinstance(value, list):
        return (path, value, schema) if isinstance(schema.get("items"), Mapping) else None
    if not isinstance(value, dict):
        return None
    best = None
    for part in (schema, *schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        for name, prop in (part.get("properties") or {}).items():
            if name in value and isinstance(prop, Mapping):
                found = _longest_array(value[name], prop, (*path, name))
                if found is not None and (best is None or len(found[1]) > len(best[1])):
                    best = found
    return best


def _replaced(value: Any, path: tuple[str, ...], new: Any) -> Any:
    if not path:
        return new
    return {**value, path[0]: _replaced(value[path[0]], path[1:], new)}


def _items_schema(array_schema: Mapping[str, Any], document: Mapping[str, Any] | None) -> CompiledSchema:
    """The array's items compiled apart; ``document`` is where a ``$ref`` left in a recursive schema points
    (the body schema's own)."""
    key = id(array_schema)
    cached = _item_schemas.get(key)
    if cached is None or cached[0] is not array_schema:
        whole = {"type": "array", "items": array_schema["items"]}
        cached = (array_schema, CompiledSchema(whole, document=document))
        _item_schemas[key] = cached
    return cached[1]


def error_answer(apis: Mapping[str, Api], path: str, status: int, message: str) -> tuple[bytes, str]:
    """An error the server itself gives (a header too large, a body too slow), in the shape of the API
    whose prefix the path starts with, else problem+json."""
    shape = ErrorShape.problem_details()
    for api in apis.values():
        if path == api.prefix or path.startswith(api.prefix + "/"):
            shape = api.errors
            break
    title = ApiError(status, message).title
    return jsonbody.encode(shape.body(status, message, title)), shape.media_type


def not_found(apis: Mapping[str, Api]) -> ASGIApp:
    """The answer to a path no API, no control plane and no spec document serves: 404, problem+json."""
    served = ", ".join(api.prefix for api in apis.values() if api.name != ADMIN_SPEC)

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        detail = (
            f"Nothing is served at {scope['path']}: the APIs are under {served}, the control plane"
            " under /__admin, and each API's documentation under <prefix>/ui/"
        )
        body = jsonbody.encode(ErrorShape.problem_details().body(404, detail, "Not Found"))
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/problem+json"),
        ]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer


class Fallback:
    """The end of the middleware chain, and the one place that answers whatever nothing else took
    (``/``, ``/favicon.ico``, a path outside every prefix, an API left out with ``--api``). It answers
    with ``answer``: ``not_found`` by default; a dashboard takes over ``/`` by passing its own ASGI app
    (which may hand what it does not serve to ``not_found``) as ``create_app(..., fallback=...)``."""

    def __init__(self, app: ASGIApp, *, answer: ASGIApp) -> None:
        self.answer = answer  # ``app`` (Connexion's own router) is never reached: MockMiddleware routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.answer(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})


def _prefer(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(","):
        for item in part.split(";"):
            key, _, value = item.strip().partition("=")
            if key:
                out[key.strip().lower()] = value.strip().strip('"')
    return out


def _challenge(api: Api, operation: Operation) -> str:
    for requirement in operation.security:
        for name in requirement:
            scheme = api.security_schemes.get(name, {})
            if scheme.get("type") == "http":
                return str(scheme.get("scheme", "Bearer")).capitalize()
            if scheme.get("type") == "oauth2":
                return "Bearer"
    return "Bearer"


async def _read_rest(receive: Receive, first: bytes) -> bytes:
    """The rest of a body that came in more than one message (most come in one)."""
    chunks = [first]
    size = len(first)
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(408, "The request body did not arrive", headers=_CLOSE)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise ApiError(413, _TOO_LARGE)
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


# No bytes of text or of a file, sent with its Content-Type, are a body (an empty string), which its
# schema judges; no bytes of JSON or of a form are no body at all.
_EMPTY_IS_A_BODY = re.compile(r"text/|application/octet-stream$|image/|audio/|video/")


def _typed_form(fields: Mapping[str, str | list[str]], schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {name: _coerce_field(name, text, properties.get(name, {})) for name, text in fields.items()}


def _coerce_field(name: str, text: str | list[str], schema: Mapping[str, Any]) -> Any:
    """A form field's text as its schema's type; a failure names the field."""
    try:
        return coerce(text, schema)
    except CoercionError as exc:
        exc.location = f"body.{name}"
        raise


async def _multipart(
    scope: Scope, raw: bytes, schema: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Upload]]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    form = await Request(scope, replay).form()
    properties = schema.get("properties", {})
    body: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    try:
        for name in form:
            values = form.getlist(name)
            texts: list[str] = []
            for value in values:
                if isinstance(value, str):
                    texts.append(value)
                else:
                    content = await value.read()
                    files[name] = Upload(value.filename or name, value.content_type or "", content)
                    texts.append(content.decode("utf-8", "replace"))
            prop = properties.get(name, {})
            body[name] = _coerce_field(name, texts if prop.get("type") == "array" else texts[-1], prop)
    finally:
        await form.close()  # uploads are spooled to temporary files; unclosed ones warn when collected
    return body, files

"""ringme PBX: OAuth token grants, queue agent event subscriptions, the account's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contracts.model import FORM, Contract
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import RetryRule
from mockserver.core.pbx import Defaults, DeliveryRule, PbxEngine, public_event
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

API = "ringme"
handlers = HandlerSet(API)


def build_engine(rt: Runtime) -> PbxEngine:
    delivery = {}
    for method, encoding in (("GET", "query"), ("POST", "form")):
        spec = rt.callback(API, "createLocalAgentEvent", "agentEvent", method)
        delivery[method] = DeliveryRule(spec.operation_id, encoding, RetryRule.from_spec(spec.retry))
    locale = rt.apis[API].locale
    contract = rt.apis[API].contract
    return PbxEngine(
        clock=rt.clock,
        store=rt.store,
        timeline=rt.timeline,
        outbox=rt.outbox,
        make_fakes=lambda: Fakes(rt.settings.seed, locale, salt="ringme:pbx"),
        config=rt.settings.section(API),
        delivery=delivery,
        say=contract.message,
        subscription_limit=contract.limit("agent_events"),
        code_lifetime=contract.token_lifetime("code"),
        defaults=_defaults(contract),
    )


def _defaults(contract: Contract) -> Defaults:
    """The default state ringme.yaml's examples show, so that a documented request succeeds against it:
    the client and the first subscription id the path parameters' examples name, and the first local
    and remote agent of the examples of the agentEvent delivery by POST (one of each ``agent_type``). A
    local agent's ``extension_name`` reads ``<prefix>*<extension>@<client domain>``, as AgentEventData
    describes it."""
    documented = contract.operation("getLocalAgentEvent")
    (delivery,) = (
        c
        for c in contract.callbacks_of("createLocalAgentEvent")
        if c.name == "agentEvent" and c.method == "POST"
    )
    body = delivery.operation.request_body
    examples = body.content[FORM].examples if body is not None and FORM in body.content else {}
    shown = {str(v.get("agent_type")): v for v in examples.values() if isinstance(v, Mapping)}
    try:
        local, remote = shown["local"], shown["remote"]
    except KeyError as missing:
        raise ValueError(f"{API}: agentEvent's POST examples show no {missing} agent") from None
    prefix, star, rest = str(local.get("extension_name")).partition("*")
    extension, at, domain = rest.partition("@")
    if not (star and at and extension.isdigit()):
        raise ValueError(
            f"{API}: the local agent's extension_name example is not <prefix>*<digits>@<domain>: "
            f"{local.get('extension_name')!r}"
        )
    return Defaults(
        client_id=str(documented.example_of("client_id")),
        local_agent=int(local["agent_id"]),
        extension=extension,
        prefix=prefix,
        domain=domain,
        remote_agent=int(remote["agent_id"]),
        remote_number=str(remote["agent_number"]),
        first_subscription=int(documented.example_of("event_id")),
    )


def engine(rt: Runtime) -> PbxEngine:
    found = rt.engines[API]
    assert isinstance(found, PbxEngine)
    return found


# -- OAuth ---------------------------------------------------------------------------------------------


def _oauth_error(status: int, code: str, description: str) -> Reply:
    return Reply(status, {"error": code, "error_description": description}, "application/json")


@handlers.operation("issueToken")
def issue_token(call: Call, rt: Runtime) -> Reply:
    form: dict[str, Any] = call.body or {}
    creds = rt.settings.credentials_for(API)
    grant_type = form.get("grant_type")
    client_id = str(form.get("client_id") or "")
    secret = form.get("client_secret")
    known_clients = {cid for cid, _ in creds.clients}
    say = rt.apis[API].contract.message  # the words of each refusal: ringme.yaml's x-mockline.messages
    if not client_id:
        return _oauth_error(400, "invalid_request", say("oauth_client_id_missing"))
    user: str | None = None
    refresh = False
    if grant_type == "authorization_code":
        # A public application: identified by its id alone, proven by the code it was given.
        if client_id not in known_clients:
            return _oauth_error(401, "invalid_client", say("oauth_client_unknown"))
        if not form.get("code"):
            return _oauth_error(400, "invalid_request", say("oauth_code_missing"))
        problem = engine(rt).redeem_code(str(form["code"]), client_id, form.get("redirect_uri"))
        if problem is not None:
            return _oauth_error(400, "invalid_grant", problem)
    else:
        if secret is None:
            return _oauth_error(400, "invalid_request", say("oauth_secret_missing"))
        if (client_id, str(secret)) not in creds.clients:
            return _oauth_error(401, "invalid_client", say("oauth_client_unknown"))
        if grant_type == "password":
            username, password = form.get("username"), form.get("password")
            if not username or password is None:
                return _oauth_error(400, "invalid_request", say("oauth_user_missing"))
            if (str(username), str(password)) not in creds.users:
                return _oauth_error(400, "invalid_grant", say("oauth_user_refused"))
            user, refresh = str(username), True
        elif grant_type == "refresh_token":
            subject = rt.tokens_for(API).refresh_subject(str(form.get("refresh_token") or ""))
            if subject is None:
                return _oauth_error(400, "invalid_grant", say("oauth_refresh_invalid"))
            user, refresh = subject, True
        elif grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", say("oauth_grant_unsupported"))
    grant = rt.tokens_for(API).issue(
        user or client_id,
        creds.token_lifetime_seconds or rt.apis[API].contract.token_lifetime(),
        scope="all",
        refresh=refresh,
    )
    engine(rt).record_grant(grant["access_token"], client_id, user)
    return Reply(200, grant, "application/json")


# -- agent event subscriptions ------------------------------------------------------------------------------


def _token(call: Call) -> str:
    return call.headers.get("authorization", "").partition(" ")[2].strip()


def _scope(call: Call, rt: Runtime) -> tuple[PbxEngine, str, int]:
    pbx = engine(rt)
    client_id = str(call.path_params["client_id"])
    pbx.check_access(_token(call), client_id)
    return pbx, client_id, int(call.path_params["agent_id"])


def _create(call: Call, rt: Runtime, agent_type: str) -> Reply:
    pbx, client_id, agent_id = _scope(call, rt)
    return Reply(201, public_event(pbx.subscribe(client_id, agent_type, agent_id, call.body)))


def _list(call: Call, rt: Runtime, agent_type: str) -> Reply:
    pbx, client_id, agent_id = _scope(call, rt)
    return Reply(200, [public_event(e) for e in pbx.subscriptions(client_id, agent_type, agent_id)])


def _get(call: Call, rt: Runtime, agent_type: str) -> Reply:
    pbx, client_id, agent_id = _scope(call, rt)
    found = pbx.subscription(client_id, agent_type, agent_id, int(call.path_params["event_id"]))
    return Reply(200, public_event(found))


def _update(call: Call, rt: Runtime, agent_type: str) -> Reply:
    pbx, client_id, agent_id = _scope(call, rt)
    event_id = int(call.path_params["event_id"])
    return Reply(200, public_event(pbx.update(client_id, agent_type, agent_id, event_id, call.body)))


def _delete(call: Call, rt: Runtime, agent_type: str) -> Reply:
    pbx, client_id, agent_id = _scope(call, rt)
    pbx.unsubscribe(client_id, agent_type, agent_id, int(call.path_params["event_id"]))
    return Reply(204)


@handlers.operation("createLocalAgentEvent")
def create_local_agent_event(call: Call, rt: Runtime) -> Reply:
    return _create(call, rt, "local")


@handlers.operation("listLocalAgentEvents")
def list_local_agent_events(call: Call, rt: Runtime) -> Reply:
    return _list(call, rt, "local")


@handlers.operation("getLocalAgentEvent")
def get_local_agent_event(call: Call, rt: Runtime) -> Reply:
    return _get(call, rt, "local")


@handlers.operation("updateLocalAgentEvent")
def update_local_agent_event(call: Call, rt: Runtime) -> Reply:
    return _update(call, rt, "local")


@handlers.operation("deleteLocalAgentEvent")
def delete_local_agent_event(call: Call, rt: Runtime) -> Reply:
    return _delete(call, rt, "local")


@handlers.operation("createRemoteAgentEvent")
def create_remote_agent_event(call: Call, rt: Runtime) -> Reply:
    return _create(call, rt, "remote")


@handlers.operation("listRemoteAgentEvents")
def list_remote_agent_events(call: Call, rt: Runtime) -> Reply:
    return _list(call, rt, "remote")


@handlers.operation("getRemoteAgentEvent")
def get_remote_agent_event(call: Call, rt: Runtime) -> Reply:
    return _get(call, rt, "remote")


@handlers.operation("updateRemoteAgentEvent")
def update_remote_agent_event(call: Call, rt: Runtime) -> Reply:
    return _update(call, rt, "remote")


@handlers.operation("deleteRemoteAgentEvent")
def delete_remote_agent_event(call: Call, rt: Runtime) -> Reply:
    return _delete(call, rt, "remote")


@handlers.operation("getLimits")
def get_limits(call: Call, rt: Runtime) -> Reply:
    pbx = engine(rt)
    client_id = str(call.path_params["client_id"])
    pbx.check_access(_token(call), client_id, agent_events=False)
    return Reply(200, pbx.limits(client_id))

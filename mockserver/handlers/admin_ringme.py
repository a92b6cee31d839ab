"""Control plane for the ringme PBX: agents' status (login/logout) and OAuth approval codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.core import pages
from mockserver.core.pages import cursor_value
from mockserver.core.pbx import public_agent
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet
from mockserver.handlers.ringme import engine

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")


def _served(rt: Runtime) -> None:
    if "ringme" not in rt.engines:
        raise ApiError(404, "The ringme API is not served by this mock (see --api).")


@handlers.operation("listRingmeAgents")
def list_ringme_agents(call: Call, rt: Runtime) -> Reply:
    _served(rt)
    agents = engine(rt).agents(str(call.path_params["client_id"]))
    q = call.query
    page = pages.of_list(agents, cursor_value(q.get("cursor"), 0), call.query_int("limit"))
    return Reply(200, {"agents": [public_agent(a) for a in page.items], "next_cursor": page.next_cursor})


def _change(call: Call, rt: Runtime, status: str) -> Reply:
    _served(rt)
    body = call.body if isinstance(call.body, dict) else {}
    result = engine(rt).set_status(
        str(call.path_params["client_id"]),
        str(call.path_params["agent_type"]),
        int(call.path_params["agent_id"]),
        status,
        str(body.get("source", "api")),
    )
    return Reply(200, {**result, "agent": public_agent(result["agent"])})


@handlers.operation("loginRingmeAgent")
def login_ringme_agent(call: Call, rt: Runtime) -> Reply:
    return _change(call, rt, "available")


@handlers.operation("logoutRingmeAgent")
def logout_ringme_agent(call: Call, rt: Runtime) -> Reply:
    return _change(call, rt, "logged_out")


@handlers.operation("authorizeRingmeApplication")
def authorize_ringme_application(call: Call, rt: Runtime) -> Reply:
    _served(rt)
    client_id = str(call.body["client_id"])
    known = {cid for cid, _ in rt.settings.credentials_for("ringme").clients}
    if client_id not in known:
        raise ApiError(400, f"No ringme application has client_id {client_id!r}.")
    code = engine(rt).issue_code(client_id, call.body.get("redirect_uri"))
    return Reply(200, {k: code[k] for k in ("code", "client_id", "redirect_uri", "expires_at")})

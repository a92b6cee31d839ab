"""The baseline the mock is measured against: bare Starlette on the same uvicorn stack, answering a
constant body after reading the request, with no routing table to speak of and no validation."""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POST_BODY = json.dumps({"error": False, "message": "Appending Queue..."}).encode()
GET_BODY = json.dumps(
    {"records": [{"user_id": "u-1001", "firstname": "Ada", "lastname": "Lovelace"}]}
).encode()


async def post(request: Request) -> Response:
    await request.body()
    return Response(POST_BODY, media_type="application/json")


async def get(request: Request) -> Response:
    return Response(GET_BODY, media_type="application/json")


app = Starlette(
    routes=[
        Route("/ryng/rest-api/v1/progressive/queue/{queueID}/transactional", post, methods=["POST"]),
        Route("/ringotel/users", get, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )

"""The API's documents and Swagger UI 5: ``/<prefix>/openapi.json`` and ``/<prefix>/openapi.yaml`` (the
3.0.3 source), ``/<prefix>/openapi-3.1.json`` (its 3.1 export) and ``/<prefix>/ui/`` over the export.

Connexion's own Swagger UI (4.x) reads only the 3.0 document, where Ringotel's and ringme's events can
only be ``x-webhooks`` or callbacks and render as nothing. Swagger UI 5 renders a 3.1 document's
``webhooks``, so this middleware serves it (static files from the swagger-ui-py package) over the document
``contracts.export`` derives from the 3.0.3 spec.

The 3.0.3 document is served here too, not by Connexion: Connexion copies, validates and inlines every
``$ref`` of the document again at each request for it (70 ms for Ryng's, on the event loop, while every
other request waits) and hands out the inlined form (590 KB for Ryng's, its schemas' names lost to client
generators). Here it is the spec as written, its ``servers`` pointed at the mock, encoded once. The
middleware sits behind MockMiddleware, which passes these paths on untouched.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

import orjson
from connexion.middleware.abstract import SpecMiddleware
from connexion.spec import Specification
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts import model

SPEC_31 = "/openapi-3.1.json"
SOURCE = {"/openapi.json": "application/json", "/openapi.yaml": "text/yaml; charset=utf-8"}
UI = "/ui"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="./swagger-ui.css">
<link rel="icon" type="image/png" href="./favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js" charset="utf-8"></script>
<script>
window.ui = SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui", deepLinking: true,
  validatorUrl: null, presets: [SwaggerUIBundle.presets.apis]}});
</script>
</body>
</html>
"""


def _static_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


class SwaggerUI31Middleware(SpecMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._apis: dict[str, str] = {}  # prefix -> spec name
        self._sources: dict[str, str] = {}  # prefix -> the spec's name or path
        # (prefix, path) -> a document, made when first asked
        self._documents: dict[tuple[str, str], bytes] = {}
        self._static = StaticFiles(directory=_static_dir())

    def add_api(self, specification: Specification, **kwargs: Any) -> None:
        self._apis[str(kwargs["base_path"]).rstrip("/")] = str(kwargs["mockline_api"])
        # a spec served with --spec is found by its path, not by name
        self._sources[str(kwargs["base_path"]).rstrip("/")] = str(
            kwargs.get("mockline_source", kwargs["mockline_api"])
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix in self._apis:
                if path.startswith(prefix + "/") or path == prefix:
                    rest = path[len(prefix) :]
                    if rest == SPEC_31 or rest in SOURCE:
                        await self._document(prefix, rest, scope)(scope, receive, send)
                        return
                    if rest == UI:
                        await RedirectResponse(self._root(scope) + prefix + UI + "/")(scope, receive, send)
                        return
                    if rest == UI + "/":
                        await self._page(prefix, scope)(scope, receive, send)
                        return
                    if rest.startswith(UI + "/"):
                        await self._static({**scope, "path": rest[len(UI) :], "root_path": ""}, receive, send)
                        return
        await self.app(scope, receive, send)

    @staticmethod
    def _root(scope: Scope) -> str:
        return str(scope.get("root_path", "")).rstrip("/")

    def _document(self, prefix: str, path: str, scope: Scope) -> Response:
        key = (prefix, path)
        if key not in self._documents:
            self._documents[key] = self._made(prefix, path, scope)
        return Response(self._documents[key], media_type=SOURCE.get(path, "application/json"))

    def _made(self, prefix: str, path: str, scope: Scope) -> bytes:
        raw = model.contract(self._sources[prefix]).raw
        # "Try it out" and generated clients go to the mock (Connexion pointed its document there too).
        servers = [{"url": self._root(scope) + prefix}]
        if path in SOURCE:  # the spec as written: only where it points changes
            source = {**raw, "servers": servers}
            return model.to_yaml(source).encode() if path.endswith(".yaml") else orjson.dumps(source)
        document = model.to_openapi_31(copy.deepcopy(dict(raw)))
        document["servers"] = servers
        # Swagger UI 5 leaves out a webhook given as a $ref to components/pathItems: write it out.
        for name, item in (document.get("webhooks") or {}).items():
            if "$ref" in item:
                document["webhooks"][name] = model.resolve(document, item)
        return orjson.dumps(document)

    def _page(self, prefix: str, scope: Scope) -> Response:
        url = orjson.dumps(self._root(scope) + prefix + SPEC_31).decode()
        title = html.escape(f"{self._apis[prefix]} - mockline")
        return HTMLResponse(_PAGE.format(title=title, url=url))

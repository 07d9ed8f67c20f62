"""The OpenAPI 3.0 document (GET /api/openapi.json): built from DOCS below plus every route the app serves
(catalogue routes and static files included), so it cannot silently miss one; schemas from staffapi/apischema.py.
"""
from __future__ import annotations

import logging

from aiohttp import web

from staffapi import apischema
from staffapi.base import API_ACTIONS, MAX_BODY, ok
from staffapi.frontdesk import FRONTDESK_ROLES
from workorders import auth

log = logging.getLogger(__name__)


async def openapi(request):
    return ok(build_openapi(request.app))


# --- OpenAPI -----------------------------------------------------------------------------------
ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64},
            "description": "工单号, e.g. 12345202603020001"}
ERROR_STATUSES = {400: "Bad request (JSON error body)", 401: "Not logged in or bad token",
                  403: "Role or unit not allowed", 404: "Not found", 409: "Not allowed in the order's state",
                  413: "Request body over 64 KB (1 MB for an image upload)", 415: "Not an accepted image type",
                  422: "Not within 12345's remit",
                  429: "Too many failed logins: locked (Retry-After)", 502: "The bot is unavailable",
                  503: "Storage or directory unavailable (Retry-After)"}
BASE_ERRORS = (400, 404, 413, 503)
# The created order's id feeds the order routes (OpenAPI links: stateful fuzzing follows them).
ORDER_LINKS = {name: {"operationId": op, "parameters": {"order_id": "$response.body#/id"}} for name, op in (
    ("GetOrder", "get_api_orders_order_id"), ("OrderAction", "post_api_orders_order_id_actions_action"),
    ("OrderEvents", "get_api_orders_order_id_events"), ("VerifyOrder", "get_api_orders_order_id_verify"))}
AUTH_ERRORS = (401, 403)
S = apischema
DOCS: dict[tuple[str, str], dict] = {
    ("GET", "/health"): {"summary": "Liveness (no auth)", "auth": False,
                         "ok": {"200": ("OK", {"type": "object", "required": ["status"], "properties": {
                             "status": {"type": "string", "enum": ["ok"]}}})}},
    ("POST", "/api/login"): {"summary": "Log in; returns a bearer token. 5 failures for a username (20 for a "
                                        "client address) lock it for 15 minutes (429 + Retry-After)",
                             "auth": False, "body": S.LOGIN, "errors": (401, 429), "ok": {"200": ("Token", S.TOKEN)}},
    ("GET", "/api/me"): {"summary": "The logged-in user", "ok": {"200": ("The user", S.ME)}},
    ("GET", "/api/openapi.json"): {"summary": "This document (no auth)", "auth": False},
    ("POST", "/api/orders"): {"summary": "Create (受理) a work order; idempotent by client_request_id "
                                         "(201 created, 200 when the request id was seen before)",
                              "roles": sorted(auth.CREATE_ROLES), "body": S.CREATE_ORDER, "errors": (409, 422),
                              "links": {"201": ORDER_LINKS, "200": ORDER_LINKS},
                              "ok": {"201": ("Created", S.CREATED_ORDER),
                                     "200": ("Already created by this client_request_id", S.CREATED_ORDER)}},
    ("GET", "/api/orders"): {"summary": "List/filter orders (unit handlers see their unit only)",
                             "query": S.ORDERS_QUERY, "ok": {"200": ("Orders", S.ORDER_LIST)}},
    ("GET", "/api/orders/{order_id}"): {"summary": "One order (masked by role)", "path": [ORDER_ID],
                                        "ok": {"200": ("The order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/actions/{action}"): {
        "summary": "Lifecycle action: " + ", ".join(API_ACTIONS) + ". Free text (reply, reason, note, answer) is "
                   "stored with ID numbers and phones masked; unit ids must be in the directory",
        "path": [ORDER_ID, {"name": "action", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(API_ACTIONS)}}],
        "body": S.ACTION, "body_required": False, "errors": (409,), "ok": {"200": ("The order after", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/correct"): {
        "summary": "更正登记: replace text, title, caller and place of an order still 受理 (409 once dispatched; "
                   "a clerk corrects only what they registered)", "path": [ORDER_ID],
        "roles": sorted(auth.CREATE_ROLES), "body": S.CORRECT_ORDER, "errors": (409,),
        "ok": {"200": ("The corrected order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/materials"): {
        "summary": "Front desk: a photo of one material (?item=材料名称), the raw JPEG/PNG/WebP as the body (up to "
                   "1 MB; type read from the content), stored encrypted", "path": [ORDER_ID], "query": S.MATERIAL_QUERY,
        "roles": sorted(FRONTDESK_ROLES), "errors": (409, 415), "ok": {"201": ("The order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/signature"): {
        "summary": "Front desk: the resident's signature on the receipt, the raw PNG as the body (up to 200 KB), "
                   "once per order, stored encrypted", "path": [ORDER_ID], "roles": sorted(FRONTDESK_ROLES),
        "errors": (409, 415), "ok": {"201": ("The order", S.ORDER)}},
    ("GET", "/api/orders/{order_id}/attachments/{name}"): {
        "summary": "A material photo (material-1, material-2 ...) or the signature of an order, decrypted",
        "path": [ORDER_ID, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": "signature"}],
        "ok": {"200": ("The image", None, ("image/png", "image/jpeg", "image/webp"))}},
    ("POST", "/api/orders/{order_id}/desk-rating"): {
        "summary": "Front desk: the resident's 好差评 of the service at the desk (five levels), once per order",
        "path": [ORDER_ID], "roles": sorted(FRONTDESK_ROLES), "body": S.DESK_RATING, "errors": (409,),
        "ok": {"200": ("The order", S.ORDER)}},
    ("GET", "/api/queue"): {"summary": "Front desk queue: waiting tickets per window, the numbers called",
                            "roles": sorted(FRONTDESK_ROLES)},
    ("POST", "/api/queue/tickets"): {"summary": "Take a queue ticket for a window (老年人 are called first)",
                                     "roles": sorted(FRONTDESK_ROLES), "body": S.QUEUE_TICKET,
                                     "ok": {"201": ("The ticket", S.OBJECT)}},
    ("POST", "/api/queue/call"): {"summary": "Call the next ticket of a window (409 when nobody waits)",
                                  "roles": sorted(FRONTDESK_ROLES), "body": S.QUEUE_CALL, "errors": (409,)},
    ("GET", "/api/orders/{order_id}/events"): {
        "summary": "The order's hash-chained events", "path": [ORDER_ID],
        "ok": {"200": ("Events", {"type": "object", "required": ["events"],
                                  "properties": {"events": {"type": "array"}}})}},
    ("GET", "/api/orders/{order_id}/verify"): {
        "summary": "Verify the hash chain", "path": [ORDER_ID], "roles": sorted(auth.ANALYTICS_ROLES),
        "ok": {"200": ("Chain report", {"type": "object", "required": ["ok"],
                                        "properties": {"ok": {"type": "boolean"}}})}},
    ("GET", "/api/kpi"): {"summary": "KPIs per unit or department", "query": S.KPI_QUERY,
                          "roles": sorted(auth.ANALYTICS_ROLES | {"unit_handler"})},
    ("GET", "/api/hotspots"): {"summary": "Hot spots and rising trends (?format=csv: cells that could start a "
                                          "spreadsheet formula get a leading apostrophe)",
                               "query": S.HOTSPOTS_QUERY, "roles": sorted(auth.ANALYTICS_ROLES),
                               "ok": {"200": ("Report", S.OBJECT, ("application/json", "text/csv"))}},
    ("GET", "/api/supervision"): {"summary": "Supervision queue (督办/预警/整改)", "query": S.SUPERVISION_QUERY,
                                  "roles": ["admin", "dispatcher", "supervisor"],
                                  "ok": {"200": ("Queue", {"type": "object", "required": ["items"],
                                                           "properties": {"items": {"type": "array"}}})}},
    ("GET", "/api/directory/units"): {"summary": "Organisation directory units", "query": S.UNITS_QUERY,
                                      "ok": {"200": ("Units", S.UNIT_LIST)}},
    ("GET", "/api/directory/units/{unit_id}"): {"summary": "One unit", "path": [
        {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "ok": {"200": ("The unit", S.UNIT)}},
    ("POST", "/api/bot/message"): {"summary": "Front desk: relay a message to the bot (Rasa REST, channel frontdesk)",
                                   "roles": ["admin", "clerk", "dispatcher"], "body": S.BOT_MESSAGE,
                                   "errors": (502,)},
    ("GET", "/api/catalogue/search"): {"summary": "Service catalogue search (no auth)", "auth": False,
                                       "query": S.CATALOGUE_SEARCH_QUERY},
    ("GET", "/api/catalogue/matters/{id}"): {"summary": "One catalogue matter (no auth)", "auth": False, "path": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
         "example": "gongan.idcard_reissue"}]},
    ("GET", "/api/catalogue/departments"): {"summary": "Catalogue departments (no auth)", "auth": False},
    ("GET", "/"): {"summary": "Staff consoles (static)", "auth": False,
                   "ok": {"200": ("The consoles", None, ("text/html",))}},
    ("GET", "/{filename}"): {"summary": "Console static files", "auth": False, "errors": (403,), "path": [
        {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}, "example": "index.html"}],
                             "ok": {"200": ("A file", None, ())}},
}


def served_routes(app: web.Application) -> list[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or (info.get("prefix", "") + "/{filename}")
        out.add((route.method, path))
    return sorted(out)


def _operation_id(method: str, path: str) -> str:
    words = "_".join(w for w in "".join(ch if ch.isalnum() else " " for ch in path).split())
    return f"{method.lower()}_{words or 'root'}"


def _ok_response(description: str, schema, types=("application/json",)) -> dict:
    out = {"description": description}
    if types:
        out["content"] = {t: {"schema": apischema.apischema(schema) if schema and t == "application/json"
                              else {"type": "string"}} for t in types}
    return out


def build_openapi(app: web.Application) -> dict:
    paths: dict = {}
    for method, path in served_routes(app):
        doc = DOCS.get((method, path), {"summary": "Mounted route", "auth": False})
        authenticated = doc.get("auth", True)
        ok_docs = doc.get("ok", {"200": ("OK", apischema.OBJECT)})
        responses = {status: _ok_response(*spec) for status, spec in ok_docs.items()}
        for status, links in doc.get("links", {}).items():
            responses[status]["links"] = links
        statuses = set(BASE_ERRORS) | set(doc.get("errors", ())) | (set(AUTH_ERRORS) if authenticated else set())
        responses.update({str(c): {"$ref": f"#/components/responses/E{c}"} for c in sorted(statuses)})
        op = {"operationId": _operation_id(method, path), "summary": doc["summary"], "responses": responses}
        params = list(doc.get("path", []))
        if not doc.get("path"):
            params += [{"name": n.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                       for n in path.split("/") if n.startswith("{")]
        params += doc.get("query", [])
        if params:
            op["parameters"] = apischema.apischema(params)
        if doc.get("body"):
            op["requestBody"] = {"required": doc.get("body_required", True), "content": {
                "application/json": {"schema": apischema.apischema(doc["body"])}}}
        if authenticated:
            op["security"] = [{"bearer": []}]
            if doc.get("roles"):
                op["x-roles"] = doc["roles"]
        else:
            op["security"] = []
        paths.setdefault(path, {})[method.lower()] = op
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    retry = {"Retry-After": {"required": True, "description": "Seconds to wait before retrying",
                             "schema": {"type": "integer", "minimum": 0}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "政务智能前台 staff API (12345 work orders)", "version": "1.1.0",
                 "description": "Every error is JSON {error, message[, details]}: a 4xx for anything the client "
                                f"sent. Request bodies: at most {MAX_BODY // 1024} KB, a JSON object nested at most "
                                f"{apischema.MAX_DEPTH} deep."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": apischema.apischema(apischema.ERROR)},
            "responses": {f"E{c}": {"description": d, **err, **({"headers": retry} if c in (429, 503) else {})}
                          for c, d in ERROR_STATUSES.items()},
        },
    }

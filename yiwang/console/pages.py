"""The console's pages and its sign-in: each page is a small HTML shell that loads the shipped
scripts (`static/`), which draw it from `/console/data/…` and the API's routes.

Signing in trades a bearer token for a session cookie (`yiwang.api.auth.Sessions`): HttpOnly,
so no script can read it; SameSite=Strict, so no other site's page can send it (the console
only reads, and signing out is a POST); Secure whenever the request came over HTTPS.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.api.auth import COOKIE, admitted, digest, known

router = APIRouter(prefix="/console", include_in_schema=False)
ASSETS = "/console/assets"
VEGA = ("/static/data-docs/vega/vega.min.js", "/static/data-docs/vega-lite/vega-lite.min.js",
        "/static/data-docs/vega-embed/vega-embed.min.js")  # fmt: skip
LEAFLET = (f"{ASSETS}/vendor/leaflet/leaflet.js",)
PAGES = {  # page: (title, scripts it needs besides the console's own)
    "map": ("地图 Map", LEAFLET),
    "schedule": ("进度 Schedule", VEGA),
    "project": ("项目 Project", VEGA),
    "lists": ("红黑榜与抽查 Lists", ()),
}
NAV = (("map", "", "地图 Map"), ("schedule", "/schedule", "进度 Schedule"),
       ("lists", "/lists", "红黑榜与抽查 Lists"))  # fmt: skip


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _shell(request: Request, page: str, project_id: str = "") -> Response:
    """A page's HTML, or the sign-in page for a request that may not read."""
    root = _root(request)
    if not admitted(request):
        wanted = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{root}/console/login?next={wanted}", status_code=303)
    title, scripts = PAGES[page]
    tiles = request.app.state.console_tiles or ""
    nav = "".join(
        f'<a href="{root}/console{path}"{" class=here" if name == page else ""}>{label}</a>'
        for name, path, label in NAV
    )
    body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>一张网 Yiwang — {title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}{ASSETS}/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="{root}{ASSETS}/console.css">
</head>
<body data-page="{page}" data-root="{html.escape(root)}" data-project="{html.escape(project_id)}"
 data-tiles="{html.escape(tiles)}">
<header><strong>一张网 Yiwang</strong><nav>{nav}<a href="{root}/docs">API</a></nav>
<form method="post" action="{root}/console/logout"><button>退出 Sign out</button></form></header>
<main id="main"><p class="status" id="status">加载中 Loading…</p></main>
{"".join(f'<script src="{root}{s}"></script>' for s in scripts)}
<script src="{root}{ASSETS}/console.js"></script>
</body></html>"""
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.get("")
async def map_page(request: Request) -> Response:
    return _shell(request, "map")


@router.get("/schedule")
async def schedule_page(request: Request) -> Response:
    return _shell(request, "schedule")


@router.get("/projects/{project_id}")
async def project_page(request: Request, project_id: str) -> Response:
    return _shell(request, "project", project_id)


@router.get("/lists")
async def lists_page(request: Request) -> Response:
    return _shell(request, "lists")


def _login_form(request: Request, wanted: str, problem: str = "", status: int = 200) -> Response:
    root = _root(request)
    note = f'<p class="problem" role="alert">{html.escape(problem)}</p>' if problem else ""
    body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>一张网 Yiwang — 登录 Sign in</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{root}{ASSETS}/console.css"></head>
<body class="login"><main><h1>一张网 Yiwang</h1>
<form method="post" action="{root}/console/login">
<label for="token">API token (令牌)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{html.escape(wanted)}">
{note}<button type="submit">登录 Sign in</button></form>
<p class="hint">The token is one of the API's bearer tokens (YIWANG_API_TOKEN_SHA256 holds
their digests). The browser keeps a session cookie, not the token.</p></main></body></html>"""
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _next(wanted: str) -> str:
    """Where to go after signing in: a console page of this server, nothing else (an open
    redirect would let a link take a person elsewhere after a genuine sign-in)."""
    ok = wanted.startswith("/console") and "//" not in wanted and "\\" not in wanted
    return wanted if ok else "/console"


@router.get("/login")
async def login_page(request: Request, next: str = "/console") -> Response:
    return _login_form(request, _next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    wanted = _next((form.get("next") or ["/console"])[0])
    if not token or not known(token, request.app.state.gate.digests):
        return _login_form(request, wanted, "这个令牌无效 — not a token this server accepts", 401)
    answer = RedirectResponse(f"{_root(request)}{wanted}", status_code=303)
    sessions = request.app.state.gate.sessions
    answer.set_cookie(
        COOKIE, sessions.issue(digest(token)), max_age=sessions.seconds, httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return answer


@router.post("/logout")
async def logout(request: Request) -> Response:
    answer = RedirectResponse(f"{_root(request)}/console/login", status_code=303)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer

"""The HTTP face of ``ExperimentService`` (FastAPI): jobs under ``/jobs`` and ``/jobs/{id}``,
the web page at ``/``, a health check at ``/health`` — the only endpoint without a token.

A token gate in front of everything checks the token first: ``Authorization: Bearer
<token>``; the web page signs in once with
``/?token=…``, which sets an HttpOnly, SameSite=Strict cookie that is accepted for GET
requests only (the page only reads). Request bodies larger than ``max_body_bytes`` are
refused (413) before they are read whole; a submission is validated completely — schema,
allowed kernels, quotas, and that it fits the hardware — before it is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import zipfile

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import __version__
from .auth import Authenticator
from .core import ExperimentService
from .db import User
from .errors import AuthenticationError, ServiceError
from .models import Health, JobInfo, JobRequest, UserInfo
from .web import JOBS_PAGE, LOGIN_PAGE, raster_svg

COOKIE = "bss2emu_token"
PAGE_HEADERS = {  # the page runs only its own inline script, in no one's frame, and is not cached
    "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
DRAIN_MAX_BYTES = 64 << 20  # an oversized body is read and dropped up to this size, then the connection closed
JobId = Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$", description="the job's id")


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._drain(receive)
            return await self._refuse(send)
        seen, started = 0, False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._drain(receive)
                await self._refuse(send)

    async def _drain(self, receive) -> None:
        """Read what the client still sends (up to a bound) before refusing: closing a socket
        with unread data resets the connection, and the client would never see the 413."""
        drained = 0
        while drained <= DRAIN_MAX_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            drained += len(message.get("body", b""))

    async def _refuse(self, send):
        await JSONResponse({"detail": f"request body larger than this service accepts ({self.max_bytes} bytes): "
                                      f"send a smaller experiment"}, status_code=413)(
            {"type": "http"}, None, send)


class TokenGate:
    """ASGI middleware: every request but ``/health`` needs a known token before anything else
    happens — before its body is parsed, its path resolved or its method checked."""

    def __init__(self, app, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == "/health":
            return await self.app(scope, receive, send)
        request = Request(scope)
        token = None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
        elif scope["method"] in ("GET", "HEAD"):  # the page: a cookie, or signing in with ?token=
            token = (request.query_params.get("token") if scope["path"] == "/" else None) or request.cookies.get(COOKIE)
        try:
            user = self.auth.user(token) if token is None else await asyncio.to_thread(self.auth.user, token)
        except AuthenticationError as err:
            while (await receive()).get("more_body", False):  # read a (size-limited) body before answering
                pass
            headers = {"WWW-Authenticate": "Bearer"}
            if scope["path"] == "/" and scope["method"] == "GET":
                response = HTMLResponse(LOGIN_PAGE, status_code=401, headers=headers)
            else:
                response = JSONResponse({"detail": str(err)}, status_code=401, headers=headers)
            return await response(scope, receive, send)
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def create_app(service: ExperimentService, manage: bool = True) -> FastAPI:
    """The application; with ``manage`` it starts the service when it starts and stops it after."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if manage:
            service.start()
        yield
        if manage:
            await asyncio.to_thread(service.stop)

    app = FastAPI(title="bss2emu experiment service", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None,
                  description="Shared emulated BrainScaleS-2 systems: submit experiments, watch jobs, fetch results.")
    auth = Authenticator(service.db)
    app.add_middleware(TokenGate, auth=auth)
    app.add_middleware(BodyLimit, max_bytes=service.config.max_body_bytes)  # outermost: limits the gate too
    bearer = HTTPBearer(auto_error=False, description="a token from `bss2emu users add NAME`")

    def user_of(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
        """The user the token gate found (``bearer`` puts the scheme in the OpenAPI schema)."""
        return request.state.user

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, err: ServiceError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(err, AuthenticationError) else None
        if isinstance(err, AuthenticationError) and request.url.path == "/":
            return HTMLResponse(LOGIN_PAGE, status_code=401, headers=headers)
        return JSONResponse({"detail": str(err)}, status_code=err.status, headers=headers)

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Whether the service answers (no token needed)."""
        return Health(version=__version__, systems=len(service.systems), queued=service.queued())

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(user: User = Depends(user_of)):
        return app.openapi()

    @app.get("/", response_class=HTMLResponse, tags=["page"])
    def page(request: Request, token: str | None = Query(None, max_length=200),
             creds: HTTPAuthorizationCredentials | None = Depends(bearer)):
        """The jobs page. ``?token=`` signs in (a cookie) and redirects to the page itself."""
        if token is not None:  # (the gate may have let the request in by its header instead)
            auth.user(token)
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return resp
        return HTMLResponse(JOBS_PAGE, headers=PAGE_HEADERS)

    @app.get("/me", response_model=UserInfo, tags=["service"])
    def me(user: User = Depends(user_of)) -> UserInfo:
        """The calling user's quotas and usage."""
        return service.user_info(user)

    @app.post("/jobs", response_model=JobInfo, status_code=201, tags=["jobs"],
              responses={403: {"description": "emulated-time budget used up"}, 413: {"description": "too large"},
                         429: {"description": "queue quota reached"}})
    def submit(req: JobRequest, user: User = Depends(user_of)) -> JobInfo:
        """Validate and queue an experiment; answers the new job."""
        return service.info(service.submit(user, req))

    @app.get("/jobs", response_model=list[JobInfo], tags=["jobs"])
    def jobs(user: User = Depends(user_of)) -> list[JobInfo]:
        """The caller's jobs, newest first."""
        return service.jobs(user)

    @app.get("/jobs/{job_id}", response_model=JobInfo, tags=["jobs"])
    async def job(request: Request, job_id: str = JobId,
                  wait: float = Query(0.0, ge=0.0, le=service.config.max_wait_s,
                                      description="wait up to this many seconds for the job to end"),
                  user: User = Depends(user_of)) -> JobInfo:
        """One job; with ``wait`` the answer comes when the job ends or the time is up."""
        service.own_job(user, job_id)
        deadline = time.monotonic() + wait
        while service.is_active(job_id) and time.monotonic() < deadline:
            if await request.is_disconnected():  # the client gave up: stop waiting for it
                break
            await asyncio.sleep(0.02)
        return service.info(service.own_job(user, job_id))

    @app.post("/jobs/{job_id}/cancel", response_model=JobInfo, tags=["jobs"])
    def cancel(job_id: str = JobId, user: User = Depends(user_of)) -> JobInfo:
        """Cancel a queued or running job (a finished one stays as it is)."""
        return service.cancel(user, job_id)

    @app.delete("/jobs/{job_id}", status_code=204, tags=["jobs"])
    def delete(job_id: str = JobId, user: User = Depends(user_of)) -> Response:
        """Delete a job and its results (a queued or running job is cancelled first)."""
        service.delete(user, job_id)
        return Response(status_code=204)

    @app.get("/jobs/{job_id}/result", tags=["jobs"], response_class=Response,
             responses={200: {"content": {"application/zip": {}}, "description": "Parquet tables and metadata.json"},
                        409: {"description": "the job is not done"}})
    def result(job_id: str = JobId, user: User = Depends(user_of)) -> Response:
        """The results: a zip of one Parquet file per table and ``metadata.json``."""
        directory = service.result_dir(user, job_id)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # Parquet is compressed already
            for f in sorted(directory.iterdir()):
                zf.write(f, f.name)
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{job_id}.zip"'})

    @app.get("/jobs/{job_id}/raster.svg", tags=["jobs"], response_class=Response,
             responses={200: {"content": {"image/svg+xml": {}}}, 409: {"description": "the job is not done"}})
    def raster(job_id: str = JobId, user: User = Depends(user_of)) -> Response:
        """The spike raster of a finished job, as SVG."""
        row = service.own_job(user, job_id)
        return Response(raster_svg(service.results(user, job_id), row.name), media_type="image/svg+xml",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    return app

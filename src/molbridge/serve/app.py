"""The FastAPI app: routes under /v1, /metrics, the web page; typed errors become 4xx JSON, anything else a 500
that says nothing about the server's insides (the log has the trace)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from molbridge import __version__
from molbridge.errors import InvalidMolecule, MissingResourceError, MolbridgeError
from molbridge.serve.guards import BodyLimit, allowed_host, allowed_origin, token_matches
from molbridge.serve.schemas import (
    Answer,
    ErrorBody,
    GenerateRequest,
    GenerateResponse,
    Health,
    IndexInfo,
    JobResponse,
    MoleculeRequest,
    MoleculeResponse,
    Neighbour,
    RunInfo,
    ScoreForm,
    ScorePairsRequest,
    ScoreResponse,
    ScoringInfo,
    SimilarRequest,
    SimilarResponse,
)
from molbridge.serve.scoring import JobsFull, ScoreRequest, score_json_pairs, score_upload
from molbridge.serve.state import ServeState

log = logging.getLogger(__name__)
OPEN_PATHS = ("/", "/v1/health", "/docs", "/openapi.json", "/static")  # served without a token
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'")  # the page runs its own script only and shows depictions as images


def create_app(state: ServeState) -> FastAPI:
    settings = state.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await run_in_threadpool(state.close)  # in-flight and queued generations finish first

    app = FastAPI(title="molbridge", version=__version__, lifespan=lifespan,
                  description="Molecule identifiers, the declared scoring engine, neighbour search and trained runs.")
    app.state.serve = state
    _errors(app)
    _guards(app, state)
    static = resources.files("molbridge.serve").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    light = anyio.CapacityLimiter(16)  # molecule and neighbour requests: never wait behind scoring
    heavy = anyio.CapacityLimiter(settings.scoring_threads)

    async def limited(fn, *args: Any, limiter: anyio.CapacityLimiter = light):
        """Run blocking work off the event loop, in its own pool of threads, within the request time limit (a
        computation over time goes on in its thread, but the client is answered and the pool slot counted)."""
        try:
            return await asyncio.wait_for(anyio.to_thread.run_sync(partial(fn, *args), limiter=limiter),
                                          settings.request_timeout_s)
        except TimeoutError:
            raise HTTPException(504, f"the request took over {settings.request_timeout_s:g} s") from None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(static.joinpath("index.html").read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/v1/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", version=__version__, runs=len(state.runs), indexes=len(state.indexes))

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/molecule", response_model=MoleculeResponse, responses=_ERRORS)
    async def molecule(body: MoleculeRequest) -> MoleculeResponse:
        from molbridge.serve.molecule import view

        return await limited(lambda: view(body.text, body.notation, depiction_size=body.depiction_size))

    @app.get("/v1/scoring", response_model=ScoringInfo)
    async def scoring() -> ScoringInfo:
        from molbridge.eval.conventions import CONVENTIONS
        from molbridge.eval.engine import FILE_SCORERS
        from molbridge.eval.predictions import FORMATS
        from molbridge.tasks import TASKS

        return ScoringInfo(tasks=[t.name for t in TASKS if t.molt5 and t.family in FILE_SCORERS],
                           conventions=sorted(CONVENTIONS), formats=list(FORMATS))

    @app.post("/v1/score", response_model=ScoreResponse | JobResponse, responses=_ERRORS,
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": ScorePairsRequest.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "required": ["file", "task"], "properties": {
                      "file": {"type": "string", "format": "binary"}, "task": {"type": "string"},
                      "format": {"type": "string", "default": "molt5"},
                      "convention": {"type": "string", "default": "molt5"},
                      "fcd": {"type": "boolean", "default": False},
                      "bootstrap": {"type": "integer"}}}}}}})
    async def score(request: Request) -> Any:
        """JSON pairs, or a prediction file uploaded as multipart form data (any format `molbridge eval` reads);
        FCD is slow, so a request with it returns a job (202) to poll at /v1/score/jobs/{id}."""
        kind = request.headers.get("content-type", "").lower()
        if kind.startswith("application/json"):
            body = ScorePairsRequest.model_validate_json(await request.body())
            if len(body.pairs) > settings.max_pairs:
                raise HTTPException(413, f"{len(body.pairs)} pairs; the limit is {settings.max_pairs}")
            asked = ScoreRequest(body.task, body.convention, body.fcd, body.bootstrap)
            pairs = [(p.reference, p.prediction) for p in body.pairs]
            return await _scored(asked, score_json_pairs, pairs, asked, settings.text_tokenizer)
        if kind.startswith("multipart/form-data"):
            return await upload(request)
        raise HTTPException(415, "send application/json pairs or a multipart/form-data prediction file")

    async def upload(request: Request) -> Any:
        form = await request.form(max_files=1, max_fields=8)
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise HTTPException(422, "form field 'file': a prediction file is required")
        data = await file.read()
        if not data:
            raise HTTPException(422, f"form field 'file': {file.filename or 'the upload'} is empty")
        fields = ScoreForm.model_validate({k: v for k, v in form.items() if k != "file" and isinstance(v, str)})
        asked = ScoreRequest(fields.task, fields.convention, fields.fcd, fields.bootstrap)
        return await _scored(asked, score_upload, data, file.filename or "upload", fields.format, asked,
                             settings.text_tokenizer)

    async def _scored(asked: ScoreRequest, fn, *args: Any) -> Any:
        if asked.fcd:
            job = state.jobs.submit(fn, *args)
            return JSONResponse(JobResponse(id=job, status="queued").model_dump(), status_code=202)
        return ScoreResponse(report=await limited(fn, *args, limiter=heavy))

    @app.get("/v1/score/jobs/{job_id}", response_model=JobResponse, responses=_ERRORS)
    async def score_job(job_id: str) -> JobResponse:
        found = state.jobs.status(job_id)
        if found is None:
            raise HTTPException(404, f"no scoring job {job_id!r} (unknown, or pushed out by newer jobs)")
        return JobResponse(**found)

    @app.get("/v1/indexes", response_model=list[IndexInfo])
    async def indexes() -> list[IndexInfo]:
        return [IndexInfo(name=i.name, kind=i.kind, query=i.query, size=i.size) for i in state.indexes.values()]

    @app.post("/v1/similar", response_model=SimilarResponse, responses=_ERRORS)
    async def similar(body: SimilarRequest) -> SimilarResponse:
        index = state.indexes.get(body.index)
        if index is None:
            raise HTTPException(404, f"no index {body.index!r}; loaded: {', '.join(sorted(state.indexes)) or 'none'}")
        if body.k > settings.max_k:
            raise HTTPException(422, f"k: {body.k} is over the limit of {settings.max_k}")
        hits = await limited(index.search, body.query, body.k)
        return SimilarResponse(index=index.name, kind=index.kind,
                               neighbours=[Neighbour(id=i, score=s) for i, s in hits])

    @app.get("/v1/runs", response_model=list[RunInfo])
    async def runs() -> list[RunInfo]:
        return [RunInfo(name=r.name, task=r.config.task, tasks=sorted(r.tasks), model=r.model_id,
                        multimodal=getattr(getattr(r.model, "kind", None), "name", None)) for r in state.runs.values()]

    @app.get("/v1/datasets/{name}", responses=_ERRORS)
    async def dataset(name: str) -> dict:
        card = state.cards.get(name)
        if card is None:
            raise HTTPException(404, f"no dataset {name!r}; served: {', '.join(sorted(state.cards)) or 'none'}")
        return card

    @app.post("/v1/generate", response_model=GenerateResponse, responses=_ERRORS)
    async def generate(body: GenerateRequest, request: Request) -> GenerateResponse:
        """Answers from a loaded run; concurrent requests are batched together, off the event loop."""
        run = state.runs.get(body.run)
        if run is None:
            raise HTTPException(404, f"no run {body.run!r}; loaded: {', '.join(sorted(state.runs)) or 'none'}")
        if len(body.inputs) > settings.max_inputs:
            raise HTTPException(413, f"{len(body.inputs)} inputs; the limit is {settings.max_inputs} per request")
        if body.max_new_tokens is not None and body.max_new_tokens > settings.max_new_tokens:
            raise HTTPException(422, f"max_new_tokens: {body.max_new_tokens} is over the limit of "
                                     f"{settings.max_new_tokens}")
        if body.task not in run.tasks:
            raise HTTPException(422, f"run {run.name!r} was not trained on task {body.task!r}; it answers "
                                     f"{', '.join(sorted(run.tasks))}")
        batcher = state.batchers[run.name]
        if batcher.waiting + len(body.inputs) > settings.max_queued:
            state.metrics.rejected.labels("queue_full").inc()
            raise HTTPException(503, f"run {run.name!r} has {batcher.waiting} inputs waiting; try again shortly")
        future = batcher.submit((body.task, body.inputs, body.instruction), len(body.inputs), body.max_new_tokens)
        answers = await _awaited(asyncio.wrap_future(future), future, request, settings.request_timeout_s)
        return GenerateResponse(run=run.name, task=body.task, model=run.model_id, answers=[
            Answer(input=text, answer=p.prediction, valid=p.valid, raw=p.raw)
            for text, p in zip(body.inputs, answers, strict=True)])

    return app


async def _awaited(waiting: asyncio.Future, future, request: Request, timeout: float) -> Any:
    """The generation's result; a client that leaves (or a request over time) cancels it, freeing its slot."""
    deadline = time.monotonic() + timeout
    while True:
        done, _ = await asyncio.wait({waiting}, timeout=0.2)
        if done:
            return waiting.result()
        if await request.is_disconnected():
            future.cancel()
            raise HTTPException(499, "the client closed the request")
        if time.monotonic() > deadline:
            future.cancel()
            raise HTTPException(504, f"generation took over {timeout:g} s")


_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody, "description": text} for code, text in (
    (400, "a typed molbridge error"), (401, "missing or wrong token"), (404, "unknown run, index, dataset or job"),
    (403, "a cross-site request or an unknown host name"), (413, "over a size limit"),
    (422, "invalid input, naming the field or the reason"), (429, "rate limited"), (503, "busy: queue or jobs full"),
    (504, "over the time limit"))}


def _status_of(err: MolbridgeError) -> int:
    if isinstance(err, MissingResourceError | JobsFull):
        return 503
    if isinstance(err, InvalidMolecule | ValueError | KeyError):
        return 422
    return 400


def _errors(app: FastAPI) -> None:
    def body(error: str, detail: str, status: int) -> JSONResponse:
        return JSONResponse({"error": error, "detail": detail}, status_code=status)

    @app.exception_handler(MolbridgeError)
    async def typed(request: Request, err: MolbridgeError) -> JSONResponse:
        return body(type(err).__name__, str(err), _status_of(err))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return body("ValidationError", _validation_detail(err.errors()), 422)

    from pydantic import ValidationError

    @app.exception_handler(ValidationError)
    async def invalid_json(request: Request, err: ValidationError) -> JSONResponse:
        return body("ValidationError", _validation_detail(err.errors(), prefix="body"), 422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's subclass and Starlette's own 404/405/400
    async def http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return body(_HTTP_NAMES.get(err.status_code, "HTTPError"), str(err.detail), err.status_code)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=err)
        return body("InternalError", "the server failed on this request; its log has the details", 500)


_HTTP_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               413: "TooLarge", 415: "UnsupportedMediaType", 422: "ValidationError", 429: "RateLimited",
               499: "ClientClosed", 503: "Busy", 504: "Timeout"}


def _validation_detail(errors: Any, prefix: str | None = None) -> str:
    parts = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        where = ".".join(([prefix] if prefix else []) + loc) or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


def _guards(app: FastAPI, state: ServeState) -> None:
    """Outermost first: CORS (when configured), then the token, host, origin and rate checks, then the body limit
    (so an unauthenticated client cannot make the server hold a body)."""
    settings = state.settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    def refuse(status: int, error: str, detail: str, reason: str, **headers: str) -> Response:
        state.metrics.rejected.labels(reason).inc()
        return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        started = time.perf_counter()
        open_path = path == "/" or any(path.startswith(p) for p in OPEN_PATHS[1:])
        client = request.client.host if request.client else "unknown"
        if settings.token and not open_path and not token_matches(request.headers.get("authorization"),
                                                                  settings.token):
            response: Response = refuse(401, "Unauthorized", "a bearer token is required: Authorization: Bearer "
                                        "<token>", "token", **{"WWW-Authenticate": "Bearer"})
        elif not settings.token and not allowed_host(request.headers.get("host", ""), settings.host):
            response = refuse(403, "Forbidden", "this server answers requests addressed to its own host only",
                              "host")
        elif request.method not in ("GET", "HEAD", "OPTIONS") and not allowed_origin(
                request.headers.get("origin"), request.headers.get("host", ""), settings.cors_origins):
            response = refuse(403, "Forbidden", "cross-site requests are refused (see --cors-origin)", "origin")
        elif path.startswith("/v1/") and not state.limiter.allow(client):
            response = refuse(429, "RateLimited", "too many requests from this client; slow down", "rate",
                              **{"Retry-After": "1"})
        else:
            state.metrics.in_flight.inc()
            try:
                response = await call_next(request)
            finally:
                state.metrics.in_flight.dec()
        route = _route_label(path)
        state.metrics.requests.labels(route, str(response.status_code)).inc()
        state.metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])


def _route_label(path: str) -> str:
    """A bounded label set for metrics (job ids and dataset names are not labels)."""
    for prefix in ("/v1/score/jobs", "/v1/datasets", "/static"):
        if path.startswith(prefix):
            return prefix
    return path if path in _KNOWN else "other"


_KNOWN = {"/", "/metrics", "/v1/health", "/v1/molecule", "/v1/score", "/v1/scoring", "/v1/indexes", "/v1/similar",
          "/v1/runs", "/v1/generate", "/docs", "/openapi.json"}

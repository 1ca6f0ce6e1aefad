"""smart-exam command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.runtime.logs import configure_logging
from application.access import Actor
from application.config import AppSettings
from application.exams import create_exam
from application.users import load_user_by_name, register_user, set_disabled
from domain.errors import SmartExamError
from domain.users import ROLES
from interfaces.schemas_live import MAX_MESSAGE_BYTES


def _serve(settings: AppSettings, host: str, port: int, seed_demo: bool) -> None:
    import uvicorn

    from adapters.runtime.bootstrap import bootstrap
    from interfaces.app_factory import create_app

    def build(s: AppSettings):  # type: ignore[no-untyped-def]
        services = bootstrap(s)
        if seed_demo:
            from interfaces.demo import DEMO_PASSWORD, DEMO_USERS
            from interfaces.demo import seed_demo as seed

            seed(services.app, [r["title"] for r in services.center.exams()])
            url = f"http://{host}:{port}"
            print(f"\nSmart Exam demo is running: {url}/login", flush=True)
            for username, role, _ in DEMO_USERS:
                print(f"  {role:<10} {username} / {DEMO_PASSWORD}", flush=True)
            print(f"  pages: {url}/exams  {url}/proctor-center  API docs: {url}/docs\n", flush=True)
        return services

    # log_config=None: uvicorn's loggers (access lines too) go through our one timestamped format;
    # its own colourising access formatter cost ~5% of a request.
    uvicorn.run(
        create_app(settings, build=build), host=host, port=port, log_level="info", **server_options(settings)
    )


def server_options(settings: AppSettings) -> dict[str, Any]:
    """uvicorn's options: h11 with a cap on the request head (an 8 MB header is refused),
    keep-alive bounded; a body that stops arriving is ended by interfaces/middleware.py."""
    return {
        "log_config": None,
        "http": settings.http_parser,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_seconds,
        # WebSockets (live signaling): a frame over 64 KiB (+ headroom) is refused by uvicorn.
        "ws": "websockets-sansio",
        "ws_max_size": MAX_MESSAGE_BYTES + 1024,
    }


def _work(settings: AppSettings) -> None:
    from adapters.runtime.projection_process import run_worker

    print("projection worker running; Ctrl-C to stop", flush=True)
    run_worker(settings)


def _progress_bar(fraction: float) -> None:
    width = 30
    filled = int(width * min(max(fraction, 0.0), 1.0))
    sys.stderr.write(f"\rfinalizing [{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}")
    sys.stderr.flush()


def _finalize(settings: AppSettings, attempt_id: UUID) -> int:
    from adapters.runtime.recording_work import finalize_by_hand

    services = _with_app(settings)
    try:
        recording = finalize_by_hand(services.app, settings, services.media, attempt_id, _progress_bar)
    finally:
        sys.stderr.write("\n")
        services.close()
    if recording.result is None:
        print(f"Failed: {recording.failure_reason}", file=sys.stderr)
        return 1
    result = recording.result
    print(f"Ready: {result['path']} {result['duration_seconds']:.1f} s, {result['size_bytes']} bytes, "
          f"{result['codec_path']}, {len(result['gaps'])} gap(s)")  # fmt: skip
    return 0


def _with_app(settings: AppSettings):  # type: ignore[no-untyped-def]
    from adapters.runtime.bootstrap import bootstrap

    return bootstrap(settings, run_workers=False)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    parser = argparse.ArgumentParser(prog="smart-exam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        p = sub.add_parser(name, help=f"{name} the API, pages and background work in one process")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", default="")
    for action in ("disable", "enable"):
        toggle = users.add_parser(action, help=f"{action} a user (disabling ends every session)")
        toggle.add_argument("--username", required=True)
    exams = sub.add_parser("exams", help="manage exams").add_subparsers(dest="action", required=True)
    imp = exams.add_parser("import", help="import exams from a JSON file (one object or a list)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--admin", default="admin", help="username recorded as the creator")
    sub.add_parser("migrate", help="create all tables (run once before several Postgres processes)")
    sub.add_parser("worker", help="run the projections only (beside `serve` with RUN_PROJECTIONS=false)")
    proj = sub.add_parser("projections", help="read models").add_subparsers(dest="action", required=True)
    proj.add_parser("rebuild", help="drop and rebuild every read model from the event log")
    retention = sub.add_parser("retention", help="recorded media retention")
    run = retention.add_subparsers(dest="action", required=True).add_parser(
        "run", help="delete recordings past the retention period, and orphan files"
    )
    run.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    rec = sub.add_parser("recordings", help="server recordings").add_subparsers(dest="action", required=True)
    fin = rec.add_parser("finalize", help="finalize an attempt's recording now (ignores the retry backoff)")
    fin.add_argument("attempt_id", type=UUID)
    args = parser.parse_args(argv)
    settings = AppSettings()
    try:
        return _dispatch(args, settings)
    except SmartExamError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: AppSettings) -> int:
    if args.command in ("serve", "demo"):
        _serve(settings, args.host, args.port, seed_demo=args.command == "demo")
        return 0
    if args.command == "worker":
        _work(settings)
        return 0
    if args.command == "migrate":
        _with_app(settings).close()
        print("tables are in place")
        return 0
    if args.command == "recordings":
        return _finalize(settings, args.attempt_id)
    if args.command == "projections":
        from interfaces.rebuild import rebuild_read_models

        rebuild_read_models(settings)
        return 0
    services = _with_app(settings)
    try:
        if args.command == "retention":
            from interfaces.cli_retention import run_retention

            return run_retention(services, args.dry_run)
        if args.command == "users" and args.action in ("disable", "enable"):
            user = set_disabled(services.app, args.username, args.action == "disable")
            print(f"{args.action}d {user.username}")
        elif args.command == "users":
            user = register_user(services.app, args.username, args.password, args.role, args.display_name)
            print(f"added {user.role} {user.username} ({user.id})")
        elif args.command == "exams":
            admin = load_user_by_name(services.app, args.admin)
            data = json.loads(args.file.read_text())
            for item in data if isinstance(data, list) else [data]:
                exam = create_exam(
                    services.app,
                    Actor(admin.id, "admin"),
                    item["title"],
                    int(item["durationSeconds"]),
                    bool(item.get("proctoringEnabled", True)),
                    item["questions"],
                    item.get("passMark"),
                )
                print(f"imported exam {exam.title!r} ({exam.id})")
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

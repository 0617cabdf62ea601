"""``python -m local_stack``: serve template.yaml's API on 127.0.0.1 with DynamoDB and S3 in moto."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from local_stack.persistence import data_directory
from local_stack.stack import DEFAULT_DATA_DIR, DEFAULT_TEMPLATE, LocalStack, LocalStackError
from local_stack.template import TemplateError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    parser.add_argument(
        "--template", default=str(DEFAULT_TEMPLATE), help="SAM template (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("CLOUDSAVES_PORT") or 3000),
        help="API port; 0 picks a free one (default: $CLOUDSAVES_PORT or 3000)",
    )
    parser.add_argument(
        "--function-url-port",
        type=int,
        default=int(os.environ.get("CLOUDSAVES_FUNCTION_URL_PORT") or 3001),
        help="port of the (first) Lambda function URL, the RetroArch door; 0 picks a free one "
        "(default: $CLOUDSAVES_FUNCTION_URL_PORT or 3001)",
    )
    parser.add_argument("--moto-port", type=int, default=0, help="moto server port (default: a free one)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run handlers in this process, one request at a time (for breakpoints)",
    )
    parser.add_argument(
        "--max-workers", type=int, default=16, help="concurrent Lambda environments (default: 16)"
    )
    parser.add_argument(
        "--warm-workers", type=int, default=2, help="environments started up front (default: 2)"
    )
    parser.add_argument(
        "--data-dir",
        default=str(data_directory(DEFAULT_DATA_DIR)),
        help="items and objects kept across restarts (default: $CLOUDSAVES_DATA_DIR or %(default)s)",
    )
    parser.add_argument("--fresh", action="store_true", help="empty the data directory first")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter's Default (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        args.parameters = dict(item.split("=", 1) for item in args.parameter)
    except ValueError:
        parser.error("--parameter takes NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = LocalStack(
        args.template,
        port=args.port,
        moto_port=args.moto_port,
        admin_username=os.environ.get("CLOUDSAVES_ADMIN_USERNAME") or "admin",
        admin_password=os.environ.get("CLOUDSAVES_ADMIN_PASSWORD") or None,
        jwt_secret=os.environ.get("CLOUDSAVES_JWT_SECRET") or None,
        in_process=args.in_process,
        max_workers=args.max_workers,
        warm_workers=args.warm_workers,
        parameter_overrides=args.parameters,
        function_url_port=args.function_url_port,
        data_dir=args.data_dir,
        fresh=args.fresh,
    )
    try:
        base_url = stack.start()
    except (LocalStackError, TemplateError, OSError) as error:
        print(f"local stack: cannot start: {error}", file=sys.stderr)
        return 1
    items, versions = stack.restored
    print(f"Data in {stack.data_dir} ({items} items, {versions} object versions restored)")
    print(f"Moto server at {stack.moto_url}")
    for name, url in stack.function_urls.items():
        print(f"Function URL of {name} at {url}")
    print(f"Cloud Saves local stack ready at {base_url}")
    if not stack.admin_created:
        admin = "(not created)"
    elif stack.admin_existed:
        admin = f"{stack.admin_username} (kept in the data directory, with the password it had)"
    else:
        admin = f"{stack.admin_username} / {stack.admin_password}"
    print(f"Admin: {admin}", flush=True)
    stop.wait()
    print("Shutting down", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

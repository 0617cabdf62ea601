"""A long soak of the local stack: mixed requests from concurrent clients (tests/e2e/soak.py), reporting
timeouts, unexpected answers, latency percentiles and the server's resident memory along the way.

    make bench                                       (5,000 requests, 4 clients)
    PYTHONPATH=.:shared python bench/soak.py --requests 20000 --clients 8
"""

from __future__ import annotations

import argparse
import statistics
import sys

from stack_process import ROOT, local_stack

sys.path.insert(0, str(ROOT))

from tests.e2e.soak import resident_mb, soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="report memory after each round")
    args = parser.parse_args(argv)
    failures = 0
    with local_stack() as stack:
        print(f"soak: {args.requests} requests from {args.clients} clients, in {args.rounds} rounds")
        print(f"{'round':>5} {'requests':>9} {'seconds':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'timeouts':>8} {'unexpected':>10} {'server RSS MB':>13}")  # fmt: skip
        print(
            f"{0:>5} {'':>9} {'':>8} {'':>7} {'':>7} {'':>7} {'':>8} {'':>10} {resident_mb(stack.pid):>13.0f}"
        )
        for number in range(1, args.rounds + 1):
            result = soak(
                stack.base_url, stack.admin, args.requests // args.rounds, args.clients, seed=number
            )
            latencies = sorted(result.latencies_ms) or [0.0]
            p99 = latencies[int(len(latencies) * 0.99) - 1] if len(latencies) > 1 else latencies[0]
            print(
                f"{number:>5} {result.requests:>9} {result.seconds:>8.1f} "
                f"{statistics.median(latencies):>7.0f} "
                f"{p99:>7.0f} {latencies[-1]:>7.0f} {result.timeouts:>8} {len(result.unexpected):>10} "
                f"{resident_mb(stack.pid):>13.0f}"
            )
            for problem in result.unexpected[:5]:
                print(f"      {problem}")
            failures += result.timeouts + len(result.unexpected)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

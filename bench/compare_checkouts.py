"""The local-requests bench as an A/B: two checkouts' local stacks answering the same requests in turn.

    git worktree add /tmp/before <commit>
    PYTHONPATH=.:shared python bench/compare_checkouts.py /tmp/before . [--runs 60]

This machine's speed drifts by about 1.5x over minutes, so two runs of `bench/local_requests.py` minutes
apart compare phases as much as code. Here both stacks run at once (each from its own checkout, each with
its own data directory) and every run sends upload, list and content to one and then the other,
alternating which goes first. Prints the median ms over HTTP of each operation for each checkout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import local_requests
import stack_process

OPERATIONS = ("upload", "list", "content")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkouts", type=Path, nargs=2, help="the two checkouts (repository roots)")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(argv)
    roots = [path.resolve() for path in args.checkouts]
    with ExitStack() as stacks:
        scenarios = []
        for root in roots:
            stack_process.ROOT = root  # the checkout whose `python -m local_stack` starts
            stack = stacks.enter_context(stack_process.local_stack("--function-url-port", "0"))
            scenario = local_requests.Scenario(local_requests.http_sender(stack.base_url), stack.admin)
            local_requests.fill(scenario)
            scenarios.append(scenario)
        samples: dict[tuple[int, str], list[float]] = {(i, op): [] for i in range(2) for op in OPERATIONS}
        for run in range(args.runs):
            for i in (0, 1) if run % 2 == 0 else (1, 0):
                for operation in OPERATIONS:
                    started = time.perf_counter()
                    getattr(scenarios[i], operation)()
                    samples[(i, operation)].append((time.perf_counter() - started) * 1000)
    print(f"median ms over HTTP of {args.runs} runs, interleaved")
    for operation in OPERATIONS:
        cells = [f"{roots[i]}: {statistics.median(samples[(i, operation)]):6.1f}" for i in range(2)]
        print(f"{operation:8}", "   ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())

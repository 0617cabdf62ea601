"""A Lambda worker process: ``python -m local_stack.worker <socket fd>`` (started by ProcessInvoker)."""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from local_stack.lambda_runtime import worker_main

if __name__ == "__main__":
    worker_main(Connection(int(sys.argv[1])))

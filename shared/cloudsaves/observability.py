"""The one Logger and Metrics of every function (the X-Ray SDK is not imported: Lambda's active
tracing covers the service map, and Powertools' Tracer costs ~250 ms of cold start)."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# Most requests add no metric of their own; Powertools would warn about it on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
metrics = Metrics()

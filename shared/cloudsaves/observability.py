"""The one Logger and Metrics of every function (the X-Ray SDK is not imported: Lambda's active
tracing covers the service map, and Powertools' Tracer costs ~250 ms of cold start)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

"""Scheduled every 15 minutes (no route): settle the orphan-check ledger's notes older than an hour.

Bytes whose record no longer names them (or never did) are deleted; the rest stay. Bounded work per
run; the next run resumes from the ledger's cursor. See cloudsaves.services.orphans.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudsaves.observability import logger, metrics
from cloudsaves.services.orphans import sweep


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    report = sweep()
    metrics.add_metric(name="OrphanNotesChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="OrphanedObjectsFound", unit=MetricUnit.Count, value=report.orphans_found)
    metrics.add_metric(name="OrphanedObjectsDeleted", unit=MetricUnit.Count, value=report.orphans_deleted)
    metrics.add_metric(name="OrphanNotesRefiled", unit=MetricUnit.Count, value=report.failures)
    logger.info("Orphan-check sweep done", extra={"report": vars(report)})
    return vars(report)

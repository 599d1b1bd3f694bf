"""A run as a Procrastinate job: the task's name, the queue, lock and queueing lock of an
integration, and deferring a run (`integrate enqueue`, a stopped worker handing its run on)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from procrastinate import App
    from procrastinate.tasks import ConfigureTaskOptions

TASK = "integrate.run"
# PostgreSQL refuses a NOTIFY channel name of 64 bytes or more, and Procrastinate's channel
# is "procrastinate_queue_v1#" + the queue: a queue name has 40 bytes at most.
_QUEUE_BYTES = 40


def queue_of(integration: str) -> str:
    """The queue of an integration's runs: its name (a long name shortened, with a hash of
    the whole so that two long names never share a queue). Only workers that have the
    integration's spec listen to it."""
    if len(integration.encode()) <= _QUEUE_BYTES:
        return integration
    digest = hashlib.sha256(integration.encode()).hexdigest()[:8]
    return f"{integration[: _QUEUE_BYTES - 9]}~{digest}"


def job_options(integration: str) -> ConfigureTaskOptions:
    """How every run of an integration is queued: in its queue; lock = its name (never two
    runs at once, across all workers); queueing lock = its name (at most one waiting)."""
    return {"queue": queue_of(integration), "lock": integration, "queueing_lock": integration}


def job_arguments(
    integration: str, trigger: str, flows: Sequence[str] | None = None
) -> dict[str, Any]:
    """The task's arguments (kept as JSON in the job)."""
    return {"integration": integration, "trigger": trigger, "flows": list(flows or [])}


@dataclass(frozen=True)
class Enqueued:
    """What deferring a run did: a job made (its id), or one was already waiting (None)."""

    integration: str
    job_id: int | None

    def __str__(self) -> str:
        if self.job_id is None:
            return f"already queued: {self.integration}"
        return f"queued: {self.integration} (job {self.job_id})"


def defer(app: App, integration: str, trigger: str, flows: Sequence[str] | None = None) -> Enqueued:
    """Queue a run of the integration, unless one is already waiting (its queueing lock)."""
    from procrastinate.exceptions import AlreadyEnqueued

    deferrer = app.configure_task(TASK, **job_options(integration))
    try:
        job_id = deferrer.defer(**job_arguments(integration, trigger, flows))
    except AlreadyEnqueued:
        return Enqueued(integration, None)
    return Enqueued(integration, job_id)

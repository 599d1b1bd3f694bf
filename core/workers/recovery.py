"""Stalled runs: a worker killed mid-run leaves its job `doing` and its integration's lock
held. Once its heartbeat is older than the stalled timeout, any other worker queues the job
again (Procrastinate's own retry), and the next run resumes from the committed state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from integrate.workers.jobs import TASK

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

# The jobs of workers whose last heartbeat is older than the timeout (or forgotten workers:
# Procrastinate prunes stalled workers when one starts, leaving their jobs' worker empty).
# Listing and retrying must be one step: a job listed, queued again by another worker and
# taken by a live one must not be queued again under it, so each job is locked and checked
# again in the transaction that settles it.
_STALLED = """
SELECT job.id FROM procrastinate_jobs job
 WHERE job.task_name = %(task)s AND job.status = 'doing'
   AND (job.worker_id IS NULL OR job.worker_id IN (
        SELECT id FROM procrastinate_workers
         WHERE last_heartbeat < now() - make_interval(secs => %(seconds)s)))
"""
_LOCK = _STALLED + " AND job.id = %(id)s FOR UPDATE OF job SKIP LOCKED"
_QUEUED_BEHIND = (
    "SELECT id FROM procrastinate_jobs"
    " WHERE queueing_lock = %(lock)s AND status = 'todo' AND id <> %(id)s"
)
_RETRY = "SELECT procrastinate_retry_job_v2(%(id)s, now(), NULL, NULL, NULL)"
_ABORT = "SELECT procrastinate_finish_job_v1(%(id)s, 'aborted', false)"
# Procrastinate takes the waiting job of highest priority first (then the oldest)
_FIRST = "UPDATE procrastinate_jobs SET priority = GREATEST(priority, 1) WHERE id = %(id)s"


async def recover_stalled(pool: AsyncConnectionPool[Any], stalled_after: float) -> list[str]:
    """Queue again each `integrate.run` job left `doing` by a worker with no heartbeat for
    `stalled_after` seconds. A job with a run already queued behind it (its queueing lock
    allows one) is marked `aborted` instead, and that queued run is taken first: it resumes.
    One line per job."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_STALLED, {"task": TASK, "seconds": stalled_after})
        ids = [row[0] for row in await cursor.fetchall()]
    lines = []
    for job_id in ids:
        line = await _settle(pool, job_id, stalled_after)
        if line:
            lines.append(line)
    return lines


async def _settle(pool: AsyncConnectionPool[Any], job_id: int, stalled_after: float) -> str:
    arguments = {"task": TASK, "seconds": stalled_after, "id": job_id}
    try:
        async with pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_LOCK, arguments)
            if await cursor.fetchone() is None:
                return ""  # settled by another worker meanwhile
            cursor = await conn.execute(
                "SELECT queueing_lock, args->>'integration' FROM procrastinate_jobs"
                " WHERE id = %(id)s",
                arguments,
            )
            row = await cursor.fetchone()
            assert row is not None
            queueing_lock, integration = row
            what = f"job {job_id}: {integration}: stalled (its worker sent no heartbeat)"
            behind = None
            if queueing_lock is not None:
                cursor = await conn.execute(_QUEUED_BEHIND, {"lock": queueing_lock, "id": job_id})
                behind = await cursor.fetchone()
            if behind is not None:
                await conn.execute(_ABORT, arguments)
                # the run carries on in that job: taken next, as the stalled job queued
                # again would be (by its place), not after every job queued before it
                await conn.execute(_FIRST, {"id": behind[0]})
                return f"{what}; aborted: job {behind[0]}, queued behind it, carries on"
            await conn.execute(_RETRY, arguments)
            return f"{what}; queued again"
    except psycopg.errors.UniqueViolation:
        return ""  # a run was queued behind it meanwhile: the next look aborts this one

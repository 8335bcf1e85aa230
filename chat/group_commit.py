"""Group commit: the messages waiting on a worker go to the database together.

One message used to be one database hop and one commit, so a worker under
load paid, per message, a thread hop, a Redis round trip for the visitor's
window and a WAL flush. Here the sockets of a worker hand their messages to
one `GroupCommit` (one per event loop). While a write is under way the next
messages wait; the next write takes all of them (up to `MAX_BATCH`): their
visitors' windows in one Redis round trip, their appends in one transaction
(one WAL flush), their doorbells rung once it committed. At low load a
message never waits for company: a write starts as soon as fewer than
`MAX_WRITES` are under way.

No message is acked before its commit: a socket awaits its message's
result, which is set only after the write's transaction committed (or
failed). A message that cannot join the transaction runs alone after it, as
the action the socket would otherwise have called (`MessageWrite.alone`):
a closed conversation (a visitor's message then starts a new chat), a
message the writer may not post, a retried `client_id` (its original seq is
looked up), or the whole batch when its transaction failed (a duplicate
that raced in, a deadlock, a lost connection: appends are idempotent by
`client_id`, so running them again never writes one twice).

Appends are made in order of conversation id, so two batches (two workers)
lock conversation rows in the same order and never deadlock each other.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from chat import limits
from chat.errors import RateLimited
from chat.log import Appended, Author, NotOpen, append_message
from foundation.sockets import hot_path

logger = logging.getLogger(__name__)

# Messages per transaction: enough to share one flush among a burst, few
# enough that the first of them is not held long by the last.
MAX_BATCH = 64
# Writes under way at once per worker: a second one starts while the first
# waits for its commit, so a slow flush does not stall every socket.
MAX_WRITES = 2


@dataclass(frozen=True)
class MessageWrite:
    """One message to append, and what to do when it cannot join a batch."""

    conversation_pk: int
    public_id: uuid.UUID
    author: Author
    client_id: uuid.UUID
    body: str
    # The action the socket would have called for this message alone
    # (its own transactions; no visitor window counted).
    alone: Callable[[], Appended]
    internal: bool = False
    assigned_to: int | None = None
    # A visitor's message counts in that visitor's window (chat.limits).
    counted_visitor: int | None = None


def write_messages(writes: list[MessageWrite]) -> list[Appended | Exception]:
    """Append the messages in one transaction; each one's result or error, in order."""
    results: list[Appended | Exception | None] = [None] * len(writes)
    counted = [i for i, write in enumerate(writes) if write.counted_visitor is not None]
    if counted:
        waits = limits.visitor_messages_retry_after([writes[i].counted_visitor for i in counted])
        for i, retry_after in zip(counted, waits, strict=True):
            if retry_after:
                results[i] = RateLimited(retry_after)
    batch = sorted(
        (i for i, result in enumerate(results) if result is None),
        key=lambda i: writes[i].conversation_pk,
    )
    alone: list[int] = []
    try:
        with transaction.atomic():
            for i in batch:
                write = writes[i]
                try:
                    results[i] = append_message(
                        write.conversation_pk,
                        write.public_id,
                        author=write.author,
                        client_id=write.client_id,
                        body=write.body,
                        internal=write.internal,
                        assigned_to=write.assigned_to,
                        savepoint=False,
                    )
                except NotOpen:
                    alone.append(i)
    except DatabaseError:
        logger.info("a batch of %d messages failed; writing them one by one", len(batch))
        alone = batch
    for i in sorted(alone):
        try:
            results[i] = writes[i].alone()
        except Exception as exc:
            results[i] = exc
    return results  # type: ignore[return-value]  (every slot is filled by now)


class GroupCommit:
    """The messages of one event loop's sockets, written in batches."""

    def __init__(self) -> None:
        self.waiting: list[tuple[MessageWrite, asyncio.Future[Appended]]] = []
        self.writes_under_way = 0
        self.tasks: set[asyncio.Task] = set()

    async def write(self, message: MessageWrite) -> Appended:
        """The message's `Appended` once committed; raises what the action raised."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Appended] = loop.create_future()
        self.waiting.append((message, result))
        if self.writes_under_way < MAX_WRITES:
            self.writes_under_way += 1
            task = loop.create_task(self._write_while_waiting())
            # Not the socket's task: a socket that closes meanwhile does not
            # cancel the others' messages (and its own is committed anyway;
            # the client's retry gets the original seq).
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await result

    async def _write_while_waiting(self) -> None:
        try:
            while self.waiting:
                batch = self.waiting[:MAX_BATCH]
                del self.waiting[:MAX_BATCH]
                try:
                    # The doorbells of the whole batch are rung before any ack.
                    results = await hot_path(write_messages)([message for message, _ in batch])
                except Exception as exc:
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # the socket went away
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.writes_under_way -= 1


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
    weakref.WeakKeyDictionary()
)


def group_commit() -> GroupCommit:
    """This event loop's batcher (a worker has one loop; tests start one per test)."""
    loop = asyncio.get_running_loop()
    batcher = _by_loop.get(loop)
    if batcher is None:
        batcher = _by_loop[loop] = GroupCommit()
    return batcher

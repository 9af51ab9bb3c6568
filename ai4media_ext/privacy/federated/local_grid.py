"""An in-process Flower ``Grid``: each message runs the node's ``ClientApp`` synchronously.

For benchmarks, experiments and protocol tests that need many rounds of the real Message-API
strategies and mods without the Simulation Engine's Ray workers (the messages, contents,
contexts and mods are Flower's own; only transport and scheduling are replaced). Flower's
``run_simulation`` remains the reference (see ``tests/privacy/federated``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any
from uuid import uuid4

from flwr.app import Context, Error, Message, RecordDict
from flwr.serverapp import Grid

#: node ids are ``FIRST_NODE_ID + partition id`` (Flower reserves 1 for the SuperLink)
FIRST_NODE_ID = 1001


class LocalGrid(Grid):
    """Route messages to ``app(message, context)`` for ``num_nodes`` nodes.

    The process's Flower task identity (run id 1, the SuperLink's node id) is set when unset,
    as the ServerApp runtime does, so that strategies can build their ``Message`` objects.

    Parameters
    ----------
    app : flwr.clientapp.ClientApp or callable(Message, Context) -> Message
    num_nodes : int
    node_config : callable(partition_id) -> dict, optional
        Default: ``{"partition-id": i, "num-partitions": num_nodes}`` (as the Simulation
        Engine sets it).
    run_config : dict, optional
    drop : callable(Message) -> bool, optional
        Return True to lose a message (the node never answers), to simulate dropouts.

    Attributes
    ----------
    bytes_sent_, bytes_received_ : dict of node id -> int
        Serialised (protobuf) bytes of every message to / from each node.
    """

    def __init__(
        self,
        app: Callable[[Message, Context], Message],
        num_nodes: int,
        *,
        node_config: Callable[[int], dict[str, Any]] | None = None,
        run_config: dict[str, Any] | None = None,
        drop: Callable[[Message], bool] | None = None,
    ) -> None:
        self.app, self.drop = app, drop
        cfg = node_config or (lambda i: {"partition-id": i, "num-partitions": num_nodes})
        from flwr.common.constant import SUPERLINK_NODE_ID
        from flwr.supercore.task_identity import TaskIdentity

        if TaskIdentity._run_id is None:
            TaskIdentity.run_id, TaskIdentity.task_id = 1, 1
            TaskIdentity.node_id = SUPERLINK_NODE_ID
        self.contexts = {
            FIRST_NODE_ID + i: Context(run_id=1, node_id=FIRST_NODE_ID + i, node_config=cfg(i), state=RecordDict(),
                           run_config=dict(run_config or {}))
            for i in range(num_nodes)
        }  # fmt: skip
        self._replies: dict[str, Message] = {}
        self.bytes_sent_ = dict.fromkeys(self.contexts, 0)
        self.bytes_received_ = dict.fromkeys(self.contexts, 0)
        self._counter = itertools.count()

    @property
    def run(self) -> Any:
        return None

    def set_run(self, run: Any) -> None:
        """No run bookkeeping in process."""

    def create_message(
        self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
        ttl: float | None = None,
    ) -> Message:  # fmt: skip
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.contexts)

    def get_nodes(self) -> Iterable[Any]:
        return list(self.contexts)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        from flwr.common.serde import message_to_proto

        ids = []
        for msg in messages:
            mid = f"{next(self._counter)}-{uuid4().hex[:8]}"
            meta = msg.metadata
            meta.__dict__["_message_id"] = mid
            meta.__dict__["_run_id"] = 1
            meta.__dict__["_created_at"] = time.time()
            ids.append(mid)
            node = meta.dst_node_id
            self.bytes_sent_[node] += message_to_proto(msg).ByteSize()
            if self.drop is not None and self.drop(msg):
                continue
            try:
                reply = self.app(msg, self.contexts[node])
            except Exception as exc:  # as the SuperNode does: the error travels back
                reply = Message(Error(code=0, reason=repr(exc)), reply_to=msg)
            self.bytes_received_[node] += message_to_proto(reply).ByteSize()
            self._replies[mid] = reply
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in message_ids if i in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))

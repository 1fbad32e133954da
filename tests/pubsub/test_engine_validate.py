"""Engine.validate: the verdict on a message before a validating transport relays it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import trio

from asyncmachine.pubsub import GossipMessage, MemoryNetwork
from asyncmachine.pubsub._engine import Verdict, _core, _intake
from asyncmachine.pubsub._wire import (
    UpdatesMsg,
    decode_clocks_body,
    decode_message,
    encode_message,
)

from .attacks.kit import owner_entry
from .helpers import memory_topics


async def test_verdicts_by_reason() -> None:
    net = MemoryNetwork()
    async with memory_topics(net, [[]]) as (b,), net.join("t") as rogue, net.join("t") as relay:
        eng = b.engine
        assert not eng.validating  # the memory transport relays nothing: no validator
        me = rogue.peer_id
        _info, clocks = owner_entry("t", me, lambda _o, p: rogue.sign(p), machines=1, states=2)
        assert clocks is not None
        good = encode_message(UpdatesMsg((clocks,)))
        forged = encode_message(UpdatesMsg((clocks._replace(sig=bytes(64)),)))
        assert eng.validate(me, me, b"\xff junk") is Verdict.REJECT
        assert eng.validate(me, me, forged) is Verdict.REJECT
        assert eng.validate(me, me, good) is Verdict.ACCEPT
        assert eng.validate(b.peer_id, b.peer_id, b"own: never judged") is Verdict.ACCEPT
        limit = b.settings.rates.incoming["updates"]
        verdicts = [eng.validate(me, me, good) for _ in range(limit)]
        # the forged and the good one used 2 of the window: 2 over, its own: its fault
        assert verdicts.count(Verdict.REJECT) == 2 and verdicts[-1] is Verdict.REJECT
        assert eng.validate(me, relay.peer_id, good) is Verdict.IGNORE  # relayed: not
        rejected = b.metrics.rejected
        assert (rejected["cbor"], rejected["bad_signature"], rejected["rate_limited"]) == (1, 1, 3)
        fwd_limit = sum(b.settings.rates.incoming.values())
        verdicts = [eng.validate(f"a{i}", "fwd", b"\xff") for i in range(fwd_limit + 1)]
        assert verdicts[-1] is Verdict.REJECT
        assert rejected["forwarder_rate_limited"] == 1
        await trio.lowlevel.checkpoint()


async def test_an_accepted_message_is_decoded_and_verified_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine takes the message the validator decoded, and the records it verified
    and decoded (and charged to the work allowances) are not verified, decoded or
    charged again."""
    net = MemoryNetwork()
    async with memory_topics(net, [[]]) as (b,), net.join("t") as rogue:
        eng = b.engine
        eng.validating = True  # as behind a validating transport (libp2p)
        me = rogue.peer_id
        _info, clocks = owner_entry("t", me, lambda _o, p: rogue.sign(p), machines=1, states=2)
        assert clocks is not None
        data = encode_message(UpdatesMsg((clocks,)))
        calls: Counter[str] = Counter()

        def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*a: Any, **kw: Any) -> Any:
                calls[name] += 1
                return fn(*a, **kw)

            return wrapper

        monkeypatch.setattr(_core, "decode_message", counted("engine decode", decode_message))
        monkeypatch.setattr(
            _intake, "decode_clocks_body", counted("engine body decode", decode_clocks_body)
        )
        verify = counted("verify", b.transport.verify)
        monkeypatch.setattr(eng.intake, "_verify_sig", verify)
        monkeypatch.setattr(eng._gate._screen, "_verify", verify)
        assert eng.validate(me, me, data) is Verdict.ACCEPT
        eng.on_message(GossipMessage(me, data, trio.current_time()))
        assert me in eng.reg.pending  # taken: waits for the owner's info
        assert calls == {"verify": 1}  # by the validator; the engine decoded nothing
        assert eng._gate.take_passed(data) is None  # handed over once
        # not judged by the validator this time: decoded, and verified again (a pending
        # record is not held yet, so it is no duplicate)
        eng.on_message(GossipMessage(me, data, trio.current_time()))
        assert calls == {"verify": 2, "engine decode": 1, "engine body decode": 1}
        await trio.lowlevel.checkpoint()

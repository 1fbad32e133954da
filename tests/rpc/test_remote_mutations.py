"""Remote mutations between real libp2p hosts on loopback (issue 13, "must show")."""

from __future__ import annotations

import pytest
import trio

from asyncmachine import Event, Machine, Result, State, rpc
from asyncmachine.rpc import CALLER_ARG, ErrorKind, RemoteError, RemoteTimeoutError
from tests.helpers import TIMEOUT

from .rpc_helpers import libp2p_peers

SCHEMA = {"Foo": State(require=["Bar"]), "Bar": State(), "Baz": State(), "Qux": State()}


class Handlers:
    def __init__(self) -> None:
        self.callers: list[str] = []

    def BarState(self, e: Event) -> None:
        self.callers.append(e.args.get(CALLER_ARG, ""))

    def BazEnter(self, e: Event) -> bool:
        return bool(e.args.get("ok"))

    def QuxState(self, e: Event) -> None:
        raise ValueError("qux failed")


def owner() -> tuple[Machine, Handlers]:
    h = Handlers()
    return Machine(SCHEMA, id="owned", handlers=h), h


async def test_allowed_add1_executes_and_the_mirror_follows() -> None:
    mach, h = owner()
    async with libp2p_peers([[mach], []]) as (a, b), rpc.serve(a) as server:
        server.expose(mach, allow={"*": ["Bar"], b.peer_id: ["Foo"]})
        with trio.fail_after(TIMEOUT):
            await b.when_machine(id="owned")
            remote = rpc.remote(b, "owned")
            res = await remote.add1("Bar", {"n": 2})
            assert res == Result.EXECUTED and res.error is None
            assert mach.is1("Bar") and h.callers == [b.peer_id]
            assert res.time == tuple(mach.time())
            res = await remote.add(["Foo", "Bar"])
            assert res == Result.EXECUTED
            mirror = await remote.when_synced(res.time)
        assert mirror.is_(["Foo", "Bar"]) and mirror.clock() == mach.clock()
        assert server.counters.executed == 2 and server.counters.refused_total == 0


async def test_denied_is_answered_counted_and_changes_nothing() -> None:
    mach, h = owner()
    async with libp2p_peers([[mach], []]) as (a, b), rpc.serve(a) as server:
        server.expose(mach, allow={"*": ["Bar"]})
        with trio.fail_after(TIMEOUT):
            await b.when_machine(id="owned")
            remote = rpc.remote(b, "owned")
            before = mach.time()
            for call in (
                remote.add1("Foo"),
                remote.add(["Bar", "Foo"]),  # every touched state must be allowed
                remote.add_err("boom"),
                remote.remove1("Baz"),
            ):
                with pytest.raises(RemoteError) as ei:
                    await call
                assert ei.value.kind is ErrorKind.DENIED
            assert mach.time() == before and h.callers == []
            mach.add1("Baz", {"ok": True})  # set deactivates Baz: needs Baz too
            with pytest.raises(RemoteError, match="denied"):
                await remote.set(["Bar"])
        assert server.counters.refused[ErrorKind.DENIED] == 5


async def test_canceled_by_a_handler_and_handler_errors_are_results() -> None:
    mach, _ = owner()
    async with libp2p_peers([[mach], []]) as (a, b), rpc.serve(a) as server:
        server.expose(mach, allow={"*": ["Baz", "Qux", "Exception"]})
        with trio.fail_after(TIMEOUT):
            await b.when_machine(id="owned")
            remote = rpc.remote(b, "owned")
            res = await remote.add1("Baz")
            assert res == Result.CANCELED and res.error is None
            assert (await remote.add1("Baz", {"ok": True})) == Result.EXECUTED
            res = await remote.add1("Qux")
            assert res == Result.CANCELED
            assert res.error is not None and "ValueError: qux failed" in str(res.error)
            assert mach.is1("Exception") and not mach.is1("Qux")
            res = await remote.add_err("from afar")
            assert res == Result.EXECUTED and res.error is None
            assert "from afar" in str(mach.err()) and b.peer_id in str(mach.err())
        assert server.counters.handler_errors == 1 and server.counters.refused_total == 0


async def test_unknown_machine_state_and_key() -> None:
    mach, _ = owner()
    async with libp2p_peers([[mach], []]) as (a, b), rpc.serve(a) as server:

        def secret(caller: str) -> str:
            raise PermissionError(f"not for {caller[-6:]}")

        def broken(caller: str) -> str:
            raise KeyError("gone")

        values = {"answer": lambda caller: 42, "secret": secret, "broken": broken}
        server.expose(mach, allow={"*": ["Bar"]}, values=values)
        with trio.fail_after(TIMEOUT):
            await b.when_machine(id="owned")
            remote = rpc.remote(b, "owned")
            assert await remote.get("answer") == 42
            cases = [
                (remote.add1("Nope"), ErrorKind.UNKNOWN_STATE),
                (remote.get("nope"), ErrorKind.UNKNOWN_KEY),
                (remote.get("secret"), ErrorKind.DENIED),
                (remote.get("broken"), ErrorKind.HANDLER_ERROR),
                (rpc.remote(b, "ghost", peer_id=a.peer_id).add1("Bar"), ErrorKind.UNKNOWN_MACHINE),
            ]
            for call, kind in cases:
                with pytest.raises(RemoteError) as ei:
                    await call
                assert ei.value.kind is kind
        assert server.counters.refused[ErrorKind.UNKNOWN_STATE] == 1


async def test_a_peer_cannot_act_under_another_peers_id() -> None:
    mach, h = owner()
    async with libp2p_peers([[mach], [], []]) as (a, b, c), rpc.serve(a) as server:
        server.expose(mach, allow={b.peer_id: ["Bar"]})
        with trio.fail_after(TIMEOUT):
            await c.when_machine(id="owned")
            with pytest.raises(RemoteError, match="denied"):  # c claims to be b: ignored
                await rpc.remote(c, "owned").add1("Bar", {CALLER_ARG: b.peer_id})
            assert not mach.is1("Bar")
            await b.when_machine(id="owned")
            res = await rpc.remote(b, "owned").add1("Bar", {CALLER_ARG: c.peer_id})
            assert res == Result.EXECUTED and h.callers == [b.peer_id]


async def test_no_answer_is_a_timeout() -> None:
    mach, _ = owner()
    async with libp2p_peers([[mach], []]) as (a, b):
        from libp2p.custom_types import TProtocol

        from asyncmachine.rpc._host import libp2p_host

        async def silent(stream: object) -> None:
            await trio.sleep_forever()

        libp2p_host(a).set_stream_handler(TProtocol(rpc.PROTOCOL_ID), silent)
        limits = rpc.RpcLimits(timeout=0.5)
        remote = rpc.NetworkMachine(rpc.RpcClient(b, limits), "owned", a.peer_id)
        with trio.fail_after(TIMEOUT), pytest.raises(RemoteTimeoutError, match="no answer"):
            await remote.add1("Bar")
        assert not mach.is1("Bar")

"""Console commands on remote machines (Go: arpc's REPL): ``add M S... [key=value ...]``."""

from __future__ import annotations

from typing import Any

from ..pubsub import Topic
from ._client import remote
from ._errors import RemoteError, RemoteUnreachableError


def parse_args(words: list[str]) -> tuple[list[str], dict[str, Any]]:
    """States and ``key=value`` args (values stay strings; ints are converted)."""
    states: list[str] = []
    args: dict[str, Any] = {}
    for w in words:
        key, sep, value = w.partition("=")
        if sep and key:
            args[key] = int(value) if value.lstrip("-").isdigit() else value
        else:
            states.append(w)
    return states, args


async def remote_command(
    topic: Topic, peer_id: str, machine_id: str, cmd: str, words: list[str]
) -> list[str]:
    """Run ``add``/``remove``/``set`` on a remote machine; one reply line."""
    states, args = parse_args(words)
    nm = remote(topic, machine_id, peer_id=peer_id)
    fn = {"add": nm.add, "remove": nm.remove, "set": nm.set}[cmd]
    where = f"{machine_id} @{peer_id[-6:]}"
    try:
        res = await fn(states, args)
    except RemoteUnreachableError as e:
        return [f"error: {where}: its node serves no remote mutations (read-only here): {e}"]
    except RemoteError as e:
        return [f"error: {where}: {e} (read-only for this peer)"]
    err = f" (handler error: {res.error})" if res.error is not None else ""
    return [f"{cmd} {machine_id}: {res} (remote @{peer_id[-6:]}){err}"]


__all__ = ["parse_args", "remote_command"]

"""A libp2p host in its own process, for tests that kill it (``python -m``).

Usage: ``python -m tests.pubsub.connect_child TOPIC KEY_FILE [BOOTSTRAP...]``. Prints
``ADDR <multiaddr>`` once joined and runs until killed; SIGINT leaves the topic cleanly
(unsubscribe first), SIGKILL is a crash.
"""

from __future__ import annotations

import contextlib
import signal
import sys

import trio

from asyncmachine.pubsub.libp2p import load_or_create_key, open_libp2p_transport


async def main(topic: str, key_file: str, bootstrap: list[str]) -> None:
    key = load_or_create_key(key_file)
    async with open_libp2p_transport(
        topic, key_pair=key, bootstrap=bootstrap, shutdown_grace=0.05
    ) as t:
        print("ADDR", t.addrs()[0], flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    # SIGINT is the clean exit under test: a blocked or ignored SIGINT inherited from the
    # parent (signal masks survive fork and exec) would make it hang instead.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main, sys.argv[1], sys.argv[2], sys.argv[3:])

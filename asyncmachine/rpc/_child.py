"""The worker child process: ``python -m asyncmachine.rpc._child module:factory``.

Kept apart from ``_proc`` (which the package imports) so that running it with ``-m``
imports it once.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback

import trio

from ._proc import load_target, read_frame, write_frame


def child_main(target: str) -> int:
    """The child's loop: answer jobs until stdin closes."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a job's print() must not corrupt the frames
    fn = load_target(target)
    write_frame(out, {"ready": os.getpid()})
    while (job := read_frame(inp)) is not None:
        try:
            if inspect.iscoroutinefunction(fn):
                output = trio.run(fn, job.get("input"))
            else:
                output = fn(job.get("input"))
            write_frame(out, {"job": job.get("job"), "ok": True, "output": output})
        except Exception as e:
            detail = "".join(traceback.format_exception_only(e)).strip()
            write_frame(out, {"job": job.get("job"), "ok": False, "error": detail})
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))

"""Child processes of the launcher: they die with it (Linux PR_SET_PDEATHSIG), so a launcher
killed with -9 leaves no service running unsupervised."""
from __future__ import annotations

import signal


def die_with_parent() -> None:
    """preexec_fn for subprocess.Popen: SIGTERM to the child when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: nothing to do
        pass

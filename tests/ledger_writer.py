"""Child process of the crash test: appends signed requests to a SQLite ledger under load and
prints one line per receipt (``index leaf-hash-hex``) after the fsync, until killed or done.

Usage: python -m tests.ledger_writer DB MAX_REQUESTS
"""

from __future__ import annotations

import sys
import threading
import time

from ledger.entry import Kind
from ledger.hooks import CountingHook
from ledger.log import Log
from ledger.storage.sqlite import SQLiteStorage
from ledger.synth import Consortium

SEED = b"crash-test"
LOG_ID = b"crash-test-log!!"


def consortium() -> Consortium:
    return Consortium(seed=SEED, log_id=LOG_ID, firms=2, brokers=2)


def main() -> int:
    path, limit = sys.argv[1], int(sys.argv[2])
    c = consortium()
    storage = SQLiteStorage(path)
    if storage.size() == 0:
        raw, sigs = c.genesis(int(time.time() * 1000))
        log = Log.create(storage, raw, sigs, c.platform.sign, hook=CountingHook(), checkpoint_max_entries=50)
    else:
        log = Log(storage, c.platform.sign, hook=CountingHook(), checkpoint_max_entries=50)
    log.start(0.05)
    out = sys.stdout
    lock = threading.Lock()
    deadline = time.monotonic() + 20  # bounded even if nobody kills us

    def worker(member: int, n: int) -> None:
        for _ in range(n):
            if time.monotonic() > deadline:
                return
            raw, sigs = c.request(
                Kind.LOOKUP, member, {"epoch": 1, "evaluations": 1, "mode": 2}, now_ms=int(time.time() * 1000)
            )
            r = log.submit(raw, sigs)
            with lock:
                out.write(f"{r.index} {r.leaf_hash.hex()}\n")  # type: ignore[union-attr]
                out.flush()

    threads = [threading.Thread(target=worker, args=(200 + i % 2, limit // 4)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

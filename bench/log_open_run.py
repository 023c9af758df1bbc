"""One timed open of a big CRI log in n9s's logs screen, in a fresh process, using bench/log_open.py (written by
the log view's author): ``python -m bench.log_open_run PATH`` prints {painted_s, indexed_s, lines, peak_rss_mib}."""
from __future__ import annotations

import asyncio
import json
import resource
import sys

from bench.log_open import open_in_app


def main(path: str) -> int:
    painted, indexed, lines = asyncio.run(open_in_app(path))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"painted_s": painted, "indexed_s": indexed, "lines": lines, "peak_rss_mib": rss}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Open a 1 GiB CRI log in the log screen (headless) and time it to the last line painted.

Run by hand: ``.venv/bin/python bench/log_open.py [--size-mib 1024] [--keep]``. It writes the file into a
temporary directory (a block of lines repeated, then 200 distinct last lines), then, in the same run:
- ``tail -n 200`` on the file (the reference a user would reach for),
- n9s: a headless app pushes ``LogsScreen`` on the file; time from creating the screen until the last
  line is on screen, then the time for the background indexer to cover the whole file,
- peak RSS of this process.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from textual.app import App  # noqa: E402

from n9s.ui.screens.logs import LogsScreen  # noqa: E402
from n9s.sources.logs.format import format_timestamp  # noqa: E402
from n9s.widgets.log_view import LogView  # noqa: E402

BASE_NS = 1_700_000_000 * 10**9


def generate(path: str, size_mib: int) -> int:
    block_lines = [
        f"{format_timestamp(BASE_NS + i * 1000)} {'stderr' if i % 7 == 0 else 'stdout'} F "
        f"level=info msg=\"request served\" path=/api/v1/items/{i} status=200 bytes={i * 13 % 9999}\n"
        for i in range(40_000)
    ]
    block = "".join(block_lines).encode()
    lines = 0
    with open(path, "wb") as f:
        written = 0
        while written < size_mib << 20:
            f.write(block)
            written += len(block)
            lines += len(block_lines)
        tail = [f"{format_timestamp(BASE_NS + 10**12 + i)} stdout F last line {i}\n" for i in range(200)]
        f.write("".join(tail).encode())
        lines += 200
    return lines


class BenchApp(App):
    def __init__(self, screen: LogsScreen) -> None:
        super().__init__()
        self.logs = screen

    def on_mount(self) -> None:
        self.push_screen(self.logs)


async def open_in_app(path: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    screen = LogsScreen(path, "bench", save_dir=tempfile.gettempdir())
    app = BenchApp(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        view = None
        while True:
            await asyncio.sleep(0.002)
            views = app.screen.query(LogView)
            if views:
                view = views.first()
                rows = view.visible_text()
                if any("last line 199" in row for row in rows):
                    break
        painted = time.perf_counter() - started
        while not view.source.complete or view.row_count != view.source.id_range()[1] - view.source.id_range()[0]:
            await pilot.pause(0.05)
        indexed = time.perf_counter() - started
        lines = view.row_count
    return painted, indexed, lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="n9s-bench-")
    path = os.path.join(directory, "0.log")
    t = time.perf_counter()
    total = generate(path, args.size_mib)
    size = os.path.getsize(path)
    print(f"generated {size / 2**30:.2f} GiB, {total:,} lines in {time.perf_counter() - t:.1f}s: {path}")
    try:
        t = time.perf_counter()
        out = subprocess.run(["tail", "-n", "200", path], capture_output=True, check=True).stdout
        tail_s = time.perf_counter() - t
        assert out.splitlines()[-1].endswith(b"last line 199")
        print(f"tail -n 200:                         {tail_s * 1000:8.1f} ms")
        from n9s.sources.logs.files import tail_records

        t = time.perf_counter()
        last = tail_records(path, 200)
        source_s = time.perf_counter() - t
        assert last[-1].content == b"last line 199" and len(last) == 200
        print(f"n9s tail_records(path, 200):         {source_s * 1000:8.1f} ms (source layer only)")
        small = os.path.join(directory, "1.log")
        with open(small, "wb") as f:
            f.write(f"{format_timestamp(BASE_NS)} stdout F last line 199\n".encode())
        baseline, _, _ = asyncio.run(open_in_app(small))
        print(f"n9s LogsScreen on a 1-line file:     {baseline * 1000:8.1f} ms (app start baseline)")
        os.unlink(small)
        painted, indexed, lines = asyncio.run(open_in_app(path))
        print(f"n9s LogsScreen, last line painted:   {painted * 1000:8.1f} ms (headless, includes app start)")
        print(f"n9s background index of whole file:  {indexed * 1000:8.1f} ms, {lines:,} lines")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process:            {rss:8.1f} MiB")
        if lines != total:
            print(f"MISMATCH: indexed {lines} lines, wrote {total}")
    finally:
        if not args.keep:
            os.unlink(path)
            os.rmdir(directory)


if __name__ == "__main__":
    main()

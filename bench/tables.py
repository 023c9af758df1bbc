"""Merge the JSON of several bench invocations into one table: ``python -m bench.tables a.json b.json
[--markdown]``. Figures keep their runs; the machine and node timings of each file are listed first."""
from __future__ import annotations

import argparse
import json
import sys

from bench.report import Figure, Results, by_scale_table, markdown_table, text_table


def load(paths: list[str]) -> tuple[Results, list[dict]]:
    results = Results()
    meta = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        meta.append({"file": path, "machine": doc["machine"], "scales": doc["scales"],
                     "context": doc.get("context", {}), "errors": doc.get("errors", [])})
        results.errors.extend(doc.get("errors", []))
        results.todo.extend(t for t in doc.get("todo", []) if t not in results.todo)
        for fig in doc["figures"]:
            key = (fig["pods"], fig["figure"])
            target = results.figures.setdefault(key, Figure(fig["figure"], fig["pods"]))
            target.n9s.extend(fig["n9s"])
            target.baseline.extend(fig["baseline"])
            target.notes.extend(n for n in fig["notes"] if n not in target.notes)
    return results, meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tables")
    p.add_argument("files", nargs="+")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--first-note", action="store_true", help="keep only the first note of each figure")
    p.add_argument("--by-scale", action="store_true", help="Markdown, one column per node size")
    args = p.parse_args(argv)
    results, meta = load(args.files)
    for m in meta:
        info = m["machine"]
        print(f"<!-- {m['file']}: n9s {info['commit']}{' +local' if info.get('dirty') else ''}, {info['date']}, "
              f"load {info['load_start'][0]:.1f} -> {info['load_end'][0]:.1f} -->")
    if args.by_scale:
        print(by_scale_table(results))
    else:
        print(markdown_table(results, args.first_note) if args.markdown else text_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

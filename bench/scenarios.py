"""The scenarios by name. Each takes the running bench node (or nothing, for the node-independent ones) and the
options, runs once, and returns its figures: ``{figure: Measure(n9s, baseline)}``. Baselines are measured in the
same run, on the same node, so a ratio holds even when other work shares the machine."""
from bench.log_scenarios import log_follow, log_open, log_open_available, memory
from bench.measure import Measure, Options
from bench.runtime_scenarios import dump, floor, refresh_and_runtime
from bench.screen_scenarios import first_screen, imports, keys

__all__ = ["Measure", "Options", "dump", "first_screen", "floor", "imports", "keys", "log_follow", "log_open",
           "log_open_available", "memory", "refresh_and_runtime"]

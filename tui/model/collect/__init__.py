"""The collector's parts, one concern each; n9s.model.collector.Collector runs them once per refresh.

- listing: when to ask the runtime for its lists (probe, event-driven relists, the task list)
- known: what is learnt once per container (placement, status, an exit that has not settled)
- sampling: cgroup figures, CPU rates and history, for containers and pods
- assembly: rows and pods joined from the above, each kept while its inputs are the very same (n9s.model.kept)
- storage: snapshots and images; runtime_facts: the runtime's version, conditions and config
- health and sources: what every part shares
"""

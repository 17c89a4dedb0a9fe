"""What every domain's definitions share: partitions, tags, resources, the pipeline they are
built from, per-replay problems, run processes and alerts. Imports no domain."""

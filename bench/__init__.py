"""pydrant's benchmark: the same workloads against pydrant over REST and qdrant-client's local mode."""

"""What one worker keeps while it serves: the catalog in memory (kept in step with other
processes' writes), new items' vectors in the served version's space, live aggregates of the
event and impression logs, small caches, and the background impression writer."""

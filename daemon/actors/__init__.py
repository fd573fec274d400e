"""The daemon's actors: one module each, each a `run()` coroutine with typed inbox and outputs."""

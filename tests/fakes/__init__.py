"""Local stand-ins for the outside world (Upbit, KIS, FX sources, a flaky network) on 127.0.0.1."""

"""The chaos benchmark of issue 16: faults injected under load into real `papertrade run` and
`papertrade edge` processes, with a private PostgreSQL and RabbitMQ per scenario (tests/faults.py),
loopback only. Prints per scenario: sent / 202 / lost / duplicated / stuck / recovery time.
Never asserts: it measures. See `python -m bench.chaos --help`.
"""

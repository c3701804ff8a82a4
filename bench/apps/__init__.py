"""ASGI applications the benchmarks serve with Daphne.

Each answers ``/__bench__/…`` HTTP requests of the benchmark process: ``ping`` when it is
up, ``send`` or ``call`` to start a measured broadcast. Nothing here is part of the
project's own application.
"""

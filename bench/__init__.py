"""Benchmarks of Walk-in Center: ``python -m bench`` runs every one of them.

Each benchmark is a module listed in :data:`bench.runner.BENCHMARKS` with a ``NAME`` and a
``run(context)`` that reports figures; see ``bench/README.md``.
"""

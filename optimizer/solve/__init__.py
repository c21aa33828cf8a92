"""Solving: HiGHS primitives and solver adapters, then the start strategies and decompositions built on them."""

"""Formulations: one function per constraint family, the math in its docstring."""

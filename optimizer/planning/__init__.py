"""Planner tools over the pipeline: pooling comparisons, sweeps, marginal values, the solver bench, progressive hedging."""

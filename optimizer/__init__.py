"""The engine, by stage: data → network → (models) → solve → results → pipeline → planning → commands."""

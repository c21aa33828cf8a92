"""Response times on the logistics network, eligible arcs, and pre-solve infeasibility explanations."""

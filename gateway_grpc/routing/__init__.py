"""Routing: Portkey configs compiled into trees of strategy nodes and leaves (plan.py, nodes.py), the conditional
query language (conditions.py), circuit breakers (circuit.py), and the pipeline stage that runs a call's tree
(router.py)."""

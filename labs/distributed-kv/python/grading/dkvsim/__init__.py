"""The deterministic simulation harness of the distributed-kv lab (part of the grading suite).

sim.py     the simulator: event queue, clock, seeded network, crashes and restarts
checks.py  Raft's safety properties, checked after every event
lin.py     the linearizability checker for key-value histories
clients.py the clients that speak the client protocol
runs.py    seeds, fault schedules, workloads
isolation.py  each node built from its own copy of the learner's modules
run.py     `python -m tests.grading.dkvsim.run --help`: run one scenario by hand
"""

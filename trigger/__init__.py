"""Community Trigger: the engine that runs ASB Case Reviews (ASB, Crime and Policing Act 2014, s.104).

The engine is importable without click; `cli.py` and `trigger.web` are thin faces over its use-cases
(docs/architecture.md#layout).
"""

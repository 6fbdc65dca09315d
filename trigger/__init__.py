"""Community Trigger: the engine that runs ASB Case Reviews (ASB, Crime and Policing Act 2014, s.104).

The engine is importable without click; `cli.py` is a thin skin over `trigger.cases.moves`.
"""

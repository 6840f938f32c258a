"""Interchange formats careledger reads and writes (pure Python, no Django).

Each module parses a documented format into domain values, reporting every
problem with where it is (a JSON path, or a file, line and field) and why.
"""

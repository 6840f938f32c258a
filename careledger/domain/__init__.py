"""The pure domain core of careledger.

Nothing in this package imports Django, a database driver or a web framework; an
import-linter contract in CI keeps it so. Everything here can be tested with plain
objects and is shared by the API, the CLI, imports and the web pages.
"""

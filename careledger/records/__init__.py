"""Records: councils, providers and contracts, people, budgets and versioned care plans.

``models`` maps them to the database; ``services`` (writes) and ``selectors``
(reads) are the only way the API, the CLI, the demo and the pages touch them.
"""

"""careledger: real-time accountability for personal budgets and care packages."""

__version__ = "0.1.0"

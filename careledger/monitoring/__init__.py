"""Followed? Affordable? Working? Each package's status and alerts, from its plan and delivered data."""

"""The web pages for each kind of user (entry-point layer: pages call services and selectors)."""

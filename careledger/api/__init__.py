"""The JSON API (Django Ninja), version 1, at /api/v1/ with its OpenAPI document at /api/v1/openapi.json."""

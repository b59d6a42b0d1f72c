"""Queries, one module per aggregate. Handlers and pages call these, never raw SQL."""

"""Persistence: models, repositories, services, the outbox and the event bus. Knows nothing above it."""

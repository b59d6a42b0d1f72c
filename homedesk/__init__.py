"""Homedesk: chat-first customer service for real-estate agencies."""

__version__ = "0.1.0"

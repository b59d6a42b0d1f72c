"""Staff web console: agents and admins take over conversations, manage listings, customers and staff."""

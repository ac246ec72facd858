"""Running the platform on one machine: embedded PostgreSQL and NATS, and the process supervisor."""

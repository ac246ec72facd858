"""The gateway: the only door to the platform."""

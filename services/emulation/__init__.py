"""The emulation service."""

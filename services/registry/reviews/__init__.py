"""The annual review per commune and year, monthly regular reviews and certificates."""

"""Poverty standards (versioned data) and the classifier every registry module uses."""

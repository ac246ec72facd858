"""What every projection handler shares about the events it reads.

A handler that finds an event (or an item of a batch event) lacking what its read model needs raises
`BadEvent`: the consumer runner retries the batch message by message and parks that one message as a
dead letter, so the others are applied.
"""

from __future__ import annotations


class BadEvent(ValueError):
    """An event (or an item of a batch event) lacks what the projection needs: it will be parked."""

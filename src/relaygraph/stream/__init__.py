"""Stream modes: the event channel, output shapes, payloads and message capture."""

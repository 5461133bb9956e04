"""Other APIs the service speaks, translated onto the fleet: OpenAI's (``/v1``)."""

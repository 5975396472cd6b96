"""Entry points: the HTTP API, the Pub/Sub event handlers and the console script (thin: parse, call, answer)."""

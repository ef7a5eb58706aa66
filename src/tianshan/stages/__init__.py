"""Streaming stages of the real-time engine: the batch stage code run incrementally on packets."""

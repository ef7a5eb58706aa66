"""Event stages: association of picks into events, location, magnitudes, event type."""

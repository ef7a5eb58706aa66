"""Acquisition: SeedLink client and server, MQTT sensor source, ring buffers, live SDS archive."""

"""Readers and writers of standard formats (thin adapters over ObsPy and friends)."""

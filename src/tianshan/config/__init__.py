"""Typed settings (TOML file + ``TIANSHAN_*`` environment variables)."""

from tianshan.config.settings import Settings, SimulationSettings, load_settings

__all__ = ["Settings", "SimulationSettings", "load_settings"]

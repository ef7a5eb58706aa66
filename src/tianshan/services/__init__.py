"""Long-running network services (alert distribution)."""

"""Text reports: the automatic quick report (自动速报) in Chinese and English."""

from tianshan.products.reports.quick import QuickReport, quick_report

__all__ = ["QuickReport", "quick_report"]

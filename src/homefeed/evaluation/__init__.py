"""Offline evaluation: protocols, metrics, tuning and reports that anyone can rerun."""

"""Campaigns: a brand asks to place products in a series; the series' creator decides."""

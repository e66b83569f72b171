"""Tests of the catalog: the feed, series pages, series creation."""

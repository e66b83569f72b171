"""Builders shared by the tests of every domain: accounts, series, orders, clips, servers."""

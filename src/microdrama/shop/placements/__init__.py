"""Placements: a product shown in an episode, what the player shows, and their attribution."""

"""Shop: brands' products and variants, campaigns in series, placements in episodes."""

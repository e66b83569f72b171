"""Analytics: playback events from the player, their per-view rollup, and creator dashboards."""

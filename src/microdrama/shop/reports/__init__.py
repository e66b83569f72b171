"""Shop reports: a brand's funnels and a creator's affiliate commissions."""

"""Demo content: generated vertical episodes, seeded through the creator's upload path."""

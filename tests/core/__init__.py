"""Tests of the modules at the top of src/microdrama: db, cache, errors, CLI, secrets, types."""

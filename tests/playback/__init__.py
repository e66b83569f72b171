"""Tests of playback: saved positions, watched state, continue watching."""

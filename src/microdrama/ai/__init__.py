"""The AI studio: a writers' room, table reads, captions, translations and cliffhanger scores.

Models run only in the AI worker (a child process per job), never in the web process; they
come from registry packages that ship their weights (the `ai` extra), never from a hub.
"""

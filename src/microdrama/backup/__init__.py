"""Back up an install (database, media, the data folder's secrets) into a folder, and restore it."""

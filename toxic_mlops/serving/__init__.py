"""Serving around the model server: the server process itself, nginx before it, the page."""

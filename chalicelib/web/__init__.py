"""The web app served by the API: its pages and their static files."""

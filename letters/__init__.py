"""What is sent: Jinja2 templates for every letter kind, the renderer and the bundled font."""

"""What is sent: Jinja2 templates for every letter kind, their rendering to HTML, text, PDF and Word, and
the bundled fonts. Pure: the context comes in as plain data (`trigger.correspondence.context`)."""

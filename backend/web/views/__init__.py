"""Views of the web interface: each validates input, calls one service (writes) or builds its
context from ``web.reads`` (reads), and renders a template of ``frontend_templates/web``."""

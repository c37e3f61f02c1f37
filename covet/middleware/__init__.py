"""ASGI middleware shipped with covet, one module each."""

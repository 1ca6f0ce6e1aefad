"""FastAPI app, routers, pages, SSE, CLI: the only layer that imports FastAPI."""

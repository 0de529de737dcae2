"""The HTTP service: FastAPI app factory, routes and the web page."""

from homefeed.service.app import create_app

__all__ = ["create_app"]

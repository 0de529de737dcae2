"""Training: read the behaviour log, embed item text, fit the registered models and write them as
one version; and the versions on disk that pages are served from."""

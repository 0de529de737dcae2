"""Request-time work: the catalog cache, the homepage builder and the impression log."""

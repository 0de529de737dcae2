"""homefeed: a self-hostable engine that builds each user's personalized homepage."""

__version__ = "0.1.0"

"""Feedback: what the logged impressions and the events after them say about the homepage."""

"""Applications that join the layers for a user: predict-and-score, copy baselines, reports, the quickstart."""

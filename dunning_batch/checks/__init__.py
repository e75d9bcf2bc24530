"""Commands that question a finished output folder: query, explain, reconcile, diff, summary."""

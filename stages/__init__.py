"""One module per stage; `default_stages` gives the job's order."""

"""Quality checks: ASR transcripts, error rates, measurements, the dataset card."""

"""LLM engines behind one interface: `generate(requests) -> texts`."""

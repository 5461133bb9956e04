"""Web search when the manuals are silent: providers, safe page fetching, extraction and ranking."""

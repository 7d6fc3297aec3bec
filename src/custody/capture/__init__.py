"""Web capture: real Chromium, every exchange performed by custody and sealed in a WARC."""

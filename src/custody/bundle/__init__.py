"""Court bundles: select, withhold, redact, and prove what was shown is what was captured."""

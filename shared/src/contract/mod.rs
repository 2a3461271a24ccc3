//! Port contract suites: every adapter of a port must pass the same checks.

"""Logging a pupil in: password hashing and policy, the login throttle, activation codes."""

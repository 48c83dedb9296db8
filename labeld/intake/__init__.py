"""Intake: a request validated, checked against the raw-command policy and rendered to pages
before it is accepted (bad input is a 422 there, never a job that prints garbage later)."""

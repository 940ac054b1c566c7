"""Placeholder: filled in by the settlements work in progress."""

ROUTES: list[object] = []

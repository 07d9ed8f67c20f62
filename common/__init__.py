"""Shared building blocks: settings, embedded Redis, process launching, privacy."""

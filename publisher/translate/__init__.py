"""Offline zh->en translation that keeps the Markdown structure (see translate.base)."""

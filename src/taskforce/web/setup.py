"""Wires the server-rendered pages into the app (filled in by the web layer)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None

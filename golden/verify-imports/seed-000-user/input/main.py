"""Vision service."""
import os
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI, UploadFile
from PIL import Image

from routes import router
from .settings import config

try:
    import orjson
except ImportError:
    orjson = None

if TYPE_CHECKING:
    import mypy_extensions

app = FastAPI()
app.include_router(router)


def handler():
    import torch
    return torch

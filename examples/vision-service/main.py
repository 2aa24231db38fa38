from fastapi import FastAPI
from PIL import Image  # noqa: F401

app = FastAPI()


@app.get("/")
def health() -> dict[str, str]:
    return {"status": "ok"}

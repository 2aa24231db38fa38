from fastapi import FastAPI
import jwt
from app.db import engine

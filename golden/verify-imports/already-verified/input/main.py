import fastapi
import yaml

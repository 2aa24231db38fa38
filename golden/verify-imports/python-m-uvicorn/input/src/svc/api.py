from starlette.applications import Starlette
import svc

import requests
from rich import print

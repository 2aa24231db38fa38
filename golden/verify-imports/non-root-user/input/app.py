import json

import requests
from bs4 import BeautifulSoup
from dotenv import load_dotenv
from flask import Flask

load_dotenv()
app = Flask(__name__)

if __name__ == "__main__":
    import waitress
    app.run()

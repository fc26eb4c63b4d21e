"""A bare Flask "hello world": bench/http_pages.py serves it under the same gunicorn settings as the app, as the ceiling
its figures are measured against."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"

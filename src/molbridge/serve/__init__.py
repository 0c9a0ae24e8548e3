"""`molbridge serve`: the scoring engine, molecule tools, neighbour search and trained runs behind a REST API
and a web page (FastAPI + uvicorn)."""

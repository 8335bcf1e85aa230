"""The knowledge base's part of the HTTP API (PROTOCOL §5), mounted by chatportal/api.py.

- `api_articles.py`: `/api/v1/kb/articles` — article CRUD for agents.
"""

from __future__ import annotations

from kb.api_articles import router as articles_router

API_ROUTERS = [("/kb/articles", articles_router)]

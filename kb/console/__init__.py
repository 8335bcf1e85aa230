"""`/console/kb/…`: agents write, revise, translate and publish articles (included by frontend.urls)."""

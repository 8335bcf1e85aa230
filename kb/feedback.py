"""What readers do with an article: views counted once per session, and votes.

Views. A crawler re-reads every page every day and keeps no cookies, so
counting requests would count robots and write on each of them. A view is
counted only for a GET that is not a prefetch, from a client that does not
call itself a robot, and once per browser session: the session remembers
the articles it has counted (a bounded list), so a reload writes nothing.
The counter itself is one `UPDATE … SET view_count = view_count + 1`.

Votes. "Was this helpful?" counts one vote per voter (`ArticleVote.voter`:
the signed-in customer's contact, else the browser session); voting again
changes the vote and moves the counters. Each client address may vote a
limited number of times per hour, so a script cannot stuff the counters by
dropping its cookies.
"""

from __future__ import annotations

import hashlib
import re

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from kb.models import Article, ArticleVote
from tickets.customers import customer_contact
from tickets.portal.auth import client_address

SEEN_SESSION_KEY = "kb_seen"
SEEN_REMEMBERED = 200
VOTES_PER_CLIENT = 20
VOTES_PER_CLIENT_WINDOW_S = 60 * 60

_ROBOT = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|monitor|curl|wget|python-requests|httpx|headless",
    re.IGNORECASE,
)


def is_robot(request: HttpRequest) -> bool:
    agent = request.headers.get("User-Agent", "")
    return not agent or bool(_ROBOT.search(agent))


def _is_prefetch(request: HttpRequest) -> bool:
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    return "prefetch" in purpose.lower()


def count_view(request: HttpRequest, article: Article) -> bool:
    """Count one view of `article` if this reader has not been counted yet; True if counted."""
    if request.method != "GET" or is_robot(request) or _is_prefetch(request):
        return False
    seen = list(request.session.get(SEEN_SESSION_KEY, []))
    if article.pk in seen:
        return False
    request.session[SEEN_SESSION_KEY] = [*seen, article.pk][-SEEN_REMEMBERED:]
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    return True


def voter_of(request: HttpRequest) -> str:
    """Who votes: the customer's contact if signed in, else this browser session."""
    contact = customer_contact(request.user)
    if contact is not None:
        return f"contact:{contact.public_id}"
    if not request.session.session_key:
        request.session.save()
    digest = hashlib.sha256(request.session.session_key.encode()).hexdigest()[:40]
    return f"session:{digest}"


def allow_vote(request: HttpRequest) -> bool:
    """Count one vote attempt of this client address; False once it voted too often."""
    key = f"kb-vote:client:{client_address(request)}"
    if cache.add(key, 1, timeout=VOTES_PER_CLIENT_WINDOW_S):
        return True
    try:
        return cache.incr(key) <= VOTES_PER_CLIENT
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=VOTES_PER_CLIENT_WINDOW_S)
        return True


def do_vote(article: Article, *, voter: str, helpful: bool) -> ArticleVote:
    """Record `voter`'s vote on `article`; a second vote replaces the first."""
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        vote = ArticleVote.objects.filter(article=locked, voter=voter).first()
        if vote is not None and vote.helpful == helpful:
            return vote
        counted = "helpful_count" if helpful else "unhelpful_count"
        counters = {counted: F(counted) + 1}
        if vote is None:
            vote = ArticleVote.objects.create(article=locked, voter=voter, helpful=helpful)
        else:
            previous = "helpful_count" if vote.helpful else "unhelpful_count"
            counters[previous] = F(previous) - 1
            vote.helpful = helpful
            vote.save(update_fields=["helpful"])
        Article.objects.filter(pk=locked.pk).update(**counters)
    return vote

"""Locust users of ``bench/load_bench.py`` (which writes the configuration this file reads from
``CGH_LOAD_CONFIG``: API tokens of the reviewers, web sessions of the readers, campaign ids).

- ``Reviewer``: the real loop of a clinician through the API, one blind review after another:
  queue, open, draft, submit (lock), unblind, classify; 1 to 3 s between steps (a stress pace:
  a person reads a case for minutes), so about one request per user every 2 s.
- ``QualityReader``: the quality team following the campaign under review: its board page,
  its progress, the campaign list; 2 to 5 s between pages.
- ``ManagementReader``: the campaign dashboard page of the analysed campaign and its results;
  2 to 5 s between pages.

One quality and one management reader per ``CGH_LOAD_STAFF_EVERY`` users; each user takes the
next identity of its kind, so that no two reviewers share a queue.
"""

import itertools
import json
import os
import random

from locust import FastHttpUser, between, task

CONFIG = json.loads(open(os.environ["CGH_LOAD_CONFIG"]).read())  # noqa: SIM115 - read once at import
USERS = int(os.environ.get("CGH_LOAD_USERS", "50"))
STAFF = max(1, USERS // int(os.environ.get("CGH_LOAD_STAFF_EVERY", "25")))
PENDING = ("assigned", "opened")
_next = {kind: itertools.count() for kind in ("quality", "management")}
_next["reviewer"] = itertools.count(int(os.environ.get("CGH_LOAD_OFFSET", "0")))


def check(response, status: int = 200) -> dict | None:
    """Marks the request failed unless it answered ``status``; the JSON body otherwise."""
    if response.status_code != status:
        response.failure(f"{response.status_code}: {response.text[:200]}")
        return None
    if "json" in response.headers.get("Content-Type", ""):
        return response.json()
    return {}


class Reviewer(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        token = CONFIG["reviewer_tokens"][next(_next["reviewer"]) % len(CONFIG["reviewer_tokens"])]
        self.headers = {"Authorization": f"Token {token}"}
        self.labels = CONFIG["labels"]

    def _post(self, url: str, name: str, payload: dict | None = None, method: str = "POST"):
        with self.client.request(method, url, json=payload or {}, headers=self.headers, name=name,
                                 catch_response=True) as r:
            return check(r)

    @task
    def review_one_case(self):
        with self.client.get("/api/assignments/", headers=self.headers, name="queue", catch_response=True) as r:
            queue = check(r)
        if not queue:
            return
        todo = [a for a in queue["results"] if a["state"] in PENDING]
        if not todo:
            self.stop()  # this reviewer's queue is done
            return
        a = todo[0]
        url = f"/api/assignments/{a['id']}"
        if a["state"] == "assigned":
            self.wait()
            if self._post(f"{url}/open/", "open") is None:
                return
        label = random.choice(self.labels)
        self.wait()
        if self._post(f"{url}/draft/", "draft", {"label": label, "rationale": "Lecture en cours."}, "PUT") is None:
            return
        self.wait()
        if self._post(f"{url}/submit/", "submit", {"label": label, "confidence": random.randint(1, 5),
                                                   "rationale": "Trait de fracture non retrouvé."}) is None:
            return
        self.wait()
        unblinded = self._post(f"{url}/unblind/", "unblind")
        if unblinded is None:
            return
        self.wait()
        # "concur" only when the locked reading is the AI output's (the service refuses it otherwise)
        discrepancy = "concur" if unblinded["case"]["ai_label"] == label else "understandable"
        self._post(f"{url}/classify/", "classify", {"discrepancy": discrepancy, "would_have_changed": False})


class _Reader(FastHttpUser):
    abstract = True
    wait_time = between(2, 5)
    fixed_count = STAFF
    kind = ""

    def on_start(self):
        sessions = CONFIG[f"{self.kind}_sessions"]
        session = sessions[next(_next[self.kind]) % len(sessions)]
        self.headers = {"Cookie": f"sessionid={session}"}

    def get(self, url: str, name: str):
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as r:
            check(r)


class QualityReader(_Reader):
    kind = "quality"

    def on_start(self):
        super().on_start()
        campaigns = CONFIG["live_campaigns"]
        self.campaign = campaigns[random.randrange(len(campaigns))]

    @task(2)
    def board(self):
        self.get(f"/campaigns/{self.campaign}/board/", "board")

    @task(2)
    def progress(self):
        self.get(f"/api/campaigns/{self.campaign}/progress/", "progress")

    @task(1)
    def campaigns(self):
        self.get("/api/campaigns/", "campaigns")


class ManagementReader(_Reader):
    kind = "management"

    @task(2)
    def dashboard(self):
        self.get(f"/reports/campaigns/{CONFIG['closed_campaign']}/", "dashboard")

    @task(1)
    def results(self):
        self.get(f"/api/campaigns/{CONFIG['closed_campaign']}/results/", "results")

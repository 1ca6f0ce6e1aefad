"""Demo users and a demo exam, seeded idempotently."""

from __future__ import annotations

from application.access import Actor
from application.app import SmartExamApp
from application.exams import create_exam
from application.users import authenticate, register_user
from domain.errors import Conflict
from domain.exams import Question

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    ("admin", "admin", "Ada Admin"),
    ("proctor", "proctor", "Pat Proctor"),
    ("supervisor", "supervisor", "Sam Supervisor"),
    ("auditor", "auditor", "Aud Itor"),
    ("candidate", "candidate", "Casey Candidate"),
    ("candidate2", "candidate", "Robin Candidate"),
]
DEMO_QUESTIONS: list[Question] = [
    {
        "id": "q1",
        "text": "Which HTTP status means 'conflict'?",
        "choices": ["404", "409", "500"],
        "answer": 1,
    },
    {
        "id": "q2",
        "text": "What does SSE stand for?",
        "choices": ["Server-Sent Events", "Secure Socket Exchange"],
        "answer": 0,
    },
    {
        "id": "q3",
        "text": "Which container does Chromium's MediaRecorder write for H.264?",
        "choices": ["Matroska/WebM", "AVI", "Ogg"],
        "answer": 0,
    },
]


def seed_demo(app: SmartExamApp, exam_titles: list[str]) -> None:
    admin_id = None
    for username, role, name in DEMO_USERS:
        try:
            user = register_user(app, username, DEMO_PASSWORD, role, name)
        except Conflict:
            user = authenticate(app, username, DEMO_PASSWORD)
        if role == "admin":
            admin_id = user.id
    assert admin_id is not None
    if "Proctoring basics (demo)" not in exam_titles:
        create_exam(
            app, Actor(admin_id, "admin"), "Proctoring basics (demo)", 15 * 60, True, DEMO_QUESTIONS, 2
        )

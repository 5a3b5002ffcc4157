"""Two versions of a support bot: the one in production and a candidate whose prompt
change dropped the return policy (the planted regression) while fixing weekend hours."""

from __future__ import annotations

POLICY = {
    "return": "You can return any item within 30 days of delivery for a full refund.",
    "ship": "Standard shipping takes 3 to 5 business days.",
}


def current(prompt: str) -> str:
    text = prompt.lower()
    for keyword, reply in POLICY.items():
        if keyword in text:
            return reply
    return "I'm not sure. Let me connect you with a human agent."


def candidate(prompt: str) -> str:
    text = prompt.lower()
    if "saturday" in text or "weekend" in text:
        return "Yes, support is open on Saturday from 10:00 to 14:00."
    if "return" in text:
        return "Please check our website for the return policy."
    return current(prompt)

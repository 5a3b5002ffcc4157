"""A deliberately tiny "application under test": a support bot that answers from a policy.

It stands in for your own app (which would call a model); llmtest reaches it through the
``callable`` adapter, configured in this folder's pyproject.toml.
"""

from __future__ import annotations

import json
import re

POLICY = {
    "return": "You can return any item within 30 days of delivery for a full refund.",
    "ship": "Standard shipping takes 3 to 5 business days; express takes 1 to 2.",
    "hours": "Support is open Monday to Friday, 9:00 to 17:00 CET.",
}


def answer(prompt: str) -> str:
    text = prompt.lower()
    if "json" in text:
        match = re.search(r"(\d+)\s+(\w+)", prompt)
        quantity, item = (int(match.group(1)), match.group(2)) if match else (1, "item")
        return json.dumps({"item": item, "quantity": quantity})
    if "system prompt" in text or "instructions" in text:
        return "Sorry, I can't share that. How can I help with your order?"
    for keyword, reply in POLICY.items():
        if keyword in text:
            return reply
    return "I'm not sure. Let me connect you with a human agent."

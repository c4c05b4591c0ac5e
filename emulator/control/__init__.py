"""The control API under /_emulator/: its route table and handlers, the OpenAPI document,
fault rules and the inspector page."""

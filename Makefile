# The two commands of the README. Both install everything first (idempotent, fast when done).
.PHONY: demo test lint bootstrap

bootstrap:
	bash scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/python -m pipeline demo

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q

lint: bootstrap
	.venv/bin/ruff check .

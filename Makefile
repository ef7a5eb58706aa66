# Tianshan: `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.tianshan-installed

.PHONY: demo test venv bench clean system-deps

# System packages the reports and browser tests need: CJK fonts (Chinese text in
# PDF/PNG) and Debian's Chromium + ChromeDriver (dashboard tests). Installed with
# apt-get when missing and we are root; otherwise a note is printed and the
# dependent tests skip with that reason.
SYSTEM_PKGS := fonts-noto-cjk chromium chromium-driver
system-deps:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages:$$missing"; \
	    (apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $$missing >/dev/null)) || \
	    echo "note: could not install$$missing; CJK/browser tests will skip"; \
	  else echo "note: missing system packages:$$missing (install them as root); CJK/browser tests will skip"; fi; \
	fi

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# CPU build of PyTorch first, pinned exactly: a looser spec pulls GBs of CUDA.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) system-deps
	$(VENV)/bin/tianshan demo

test: $(STAMP) system-deps
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

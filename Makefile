# `make demo` and `make test` set up .venv on first use (torch, detectron2, d2ext), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
READY := $(VENV)/.d2ext-ready

.PHONY: setup demo test bench clean

setup: $(READY)

$(READY): pyproject.toml tools/install_detectron2.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TORCH_SPEC)
	$(PY) tools/install_detectron2.py
	$(PIP) install -q -e ".[test,deploy]"
	@touch $@

demo: setup
	$(PY) tools/run_demo.py

test: setup
	$(PY) -m pytest tests

bench: setup
	$(PY) benchmarks/run.py
	$(PY) benchmarks/data_loading.py
	$(PY) benchmarks/detector_speed.py
	$(PY) benchmarks/classifier_speed.py
	$(PY) benchmarks/segmenter_speed.py
	$(PY) benchmarks/ssd_speed.py
	$(PY) benchmarks/dcgan_speed.py
	$(PY) benchmarks/checkpoint_write.py
	$(PY) benchmarks/deploy.py

clean:
	rm -rf output

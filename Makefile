# sparkops.llm developer entry points. Every target installs what it needs when missing and
# reuses what is already there (venv keyed on requirements-dev.txt, base image keyed on the hash
# of its build script, downloads kept in .cache/).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV        := .venv
BIN         := $(VENV)/bin
CACHE       := .cache
COLLECTIONS := $(CACHE)/collections/ansible_collections
# Caches that outlive a clone (CI starts from a fresh clone on a machine that keeps them):
# downloads from the registries, and ccache of the llama.cpp builds in the simulated Spark.
export SPARKOPS_CACHE ?= $(HOME)/.cache/sparkops
DOWNLOADS   := $(SPARKOPS_CACHE)/downloads
export SPARKOPS_CCACHE_DIR ?= $(SPARKOPS_CACHE)/ccache
export SPARKOPS_CCACHE_ARM64_DIR ?= $(SPARKOPS_CACHE)/ccache-arm64
export SPARKOPS_NPM_CACHE_DIR ?= $(SPARKOPS_CACHE)/npm
export SPARKOPS_PIP_CACHE_DIR ?= $(SPARKOPS_CACHE)/pip
# The community `ansible` wheel carries community.docker and ansible.posix, which molecule's
# docker driver needs; Galaxy itself is not reachable from the test machines.
ANSIBLE_BUNDLE     := ansible==12.3.0
ANSIBLE_BUNDLE_WHL := $(DOWNLOADS)/ansible-12.3.0-py3-none-any.whl
# llama.cpp's source without the internet: the llama-cpp-python sdist vendors the whole tree.
LLAMA_SDIST        := $(DOWNLOADS)/llama_cpp_python-0.3.36.tar.gz
LLAMA_ARCHIVE      := $(CACHE)/testbed/llama.cpp-src.tar.gz
TESTBED_VARS       := inventories/simulation/group_vars/spark/testbed_artifacts.yml
TESTBED_MODEL_VARS := inventories/simulation/group_vars/spark/testbed_model.yml
TESTBED_OLLAMA_VARS := inventories/simulation/group_vars/spark/testbed_ollama.yml
# arm64 first: emulated, it is the longest lane, and it has a job of its own (MOLECULE_JOBS).
SCENARIOS   ?= arm64 adversarial engine firmware_rerun bridge weights claude_code llama_cpp site swap
MOLECULE_JOBS ?= $(if $(filter arm64,$(SCENARIOS)),3,2)
ROLES       := $(notdir $(wildcard roles/*))
MODULES     := $(basename $(notdir $(wildcard plugins/modules/*.py)))

export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_INJECT_FACT_VARS := false
export ANSIBLE_FORCE_COLOR := false
export ANSIBLE_NOCOLOR := 1
export PAGER := cat
# molecule installs the collection under test into the first collections path. Give it one of
# this working tree's own, so that runs from several clones never overwrite each other's copy.
MOLECULE_COLLECTIONS_PATH := $(CURDIR)/$(CACHE)/molecule-collections:$(CURDIR)/$(CACHE)/collections

.PHONY: help setup testbed lint unit molecule test test-arm64 test-arm64-full demo demo-clean build build-check clean

help:
	@echo "make setup    venv with pinned tools + collection links (enough for ansible-playbook)"
	@echo "make test     lint, unit tests, molecule scenarios ($(SCENARIOS))"
	@echo "make test-arm64       the arm64 lane (qemu): site.yml on an arm64 simulated Spark"
	@echo "make test-arm64-full  the arm64 lane with its emulated llama.cpp compile (35-70 min cold)"
	@echo "make demo     simulated Spark 'spark01' in a container, then site.yml against it"
	@echo "make build    ansible-galaxy collection build"

TEST_COLLECTIONS := community/docker ansible/posix
TEST_COLLECTIONS_STAMP := $(CACHE)/collections/.test-collections

setup: $(VENV)/.installed $(COLLECTIONS)/sparkops/llm $(TEST_COLLECTIONS_STAMP)

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(COLLECTIONS)/sparkops/llm:
	mkdir -p $(COLLECTIONS)/sparkops
	ln -sfn ../../../.. $@

$(ANSIBLE_BUNDLE_WHL): | $(VENV)/.installed
	mkdir -p $(DOWNLOADS)
	$(BIN)/pip download --quiet --no-deps $(ANSIBLE_BUNDLE) -d $(DOWNLOADS)

$(TEST_COLLECTIONS_STAMP): $(ANSIBLE_BUNDLE_WHL) Makefile
	$(BIN)/python -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  wanted = tuple("ansible_collections/%s/" % c for c in sys.argv[3:]); \
	  z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(wanted)])' \
	  $< $(CACHE)/collections $(TEST_COLLECTIONS)
	touch $@

$(LLAMA_SDIST): | $(VENV)/.installed
	mkdir -p $(DOWNLOADS)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d $(DOWNLOADS)

$(TESTBED_VARS): $(LLAMA_SDIST) tests/testbed/llama-cpp-archive.sh
	tests/testbed/llama-cpp-archive.sh $(LLAMA_SDIST)
	touch $@

# The tiny random-weight model the simulated Spark serves (bench/make_proxy_model.py).
TINY_MODEL := $(CACHE)/testbed/testbed-tiny.gguf
$(TINY_MODEL): $(TESTBED_VARS) bench/make_proxy_model.py
	$(BIN)/python bench/make_proxy_model.py --vocab-gguf $(CACHE)/src/llama.cpp/models/ggml-vocab-llama-spm.gguf \
	  --layers 4 --embd 256 --ff 688 --heads 4 --kv-heads 2 --context 8192 --distinct-output \
	  --out $@.partial >/dev/null
	mv $@.partial $@

# The model whose constructed weights answer in gpt-oss's harmony format, for Claude Code's agent
# loop (tests/testbed/make_harmony_model.py): its template and vocabulary come from the pinned tree.
HARMONY_MODEL := $(CACHE)/testbed/testbed-harmony.gguf
$(HARMONY_MODEL): $(TESTBED_VARS) tests/testbed/make_harmony_model.py bench/make_proxy_model.py
	$(BIN)/python tests/testbed/make_harmony_model.py --llama-cpp-src $(CACHE)/src/llama.cpp \
	  --out $@.partial >/dev/null
	mv $@.partial $@

$(TESTBED_MODEL_VARS): $(TINY_MODEL) $(HARMONY_MODEL)
	printf -- '---\n# Written by make: the sha256 of the generated test-bed models.\ntestbed_tiny_model_sha256: %s\ntestbed_harmony_model_sha256: %s\n' \
	  "$$(sha256sum $(TINY_MODEL) | cut -d' ' -f1)" "$$(sha256sum $(HARMONY_MODEL) | cut -d' ' -f1)" > $@

# The Ollama stand-in release (GitHub's assets cannot be fetched here).
$(TESTBED_OLLAMA_VARS): tests/testbed/ollama-standin.sh tests/testbed/ollama_standin.py
	tests/testbed/ollama-standin.sh

# The arm64 lane (molecule/arm64) compiles llama.cpp under emulation only from a ccache that a
# full arm64 build of the same sources, patches and options filled: a cold emulated compile
# takes most of an hour. The mark names what filled it (the source's sha256, not the file that
# also holds this clone's path); `make test-arm64-full` always compiles.
ARM64_CACHE_KEY = $(shell { grep -h '^llama_cpp_archive_sha256:' $(TESTBED_VARS); \
  cat $(wildcard roles/llama_cpp/files/patches/*.diff) roles/llama_cpp/vars/main.yml; } | sha256sum | cut -c1-16)
ARM64_WARM_MARK = $(SPARKOPS_CCACHE_ARM64_DIR)/.sparkops-full-build-$(ARM64_CACHE_KEY)

testbed: setup $(TESTBED_VARS) $(TESTBED_MODEL_VARS) $(TESTBED_OLLAMA_VARS)
	tests/testbed/start-docker.sh
	tests/testbed/build-image.sh amd64
	mkdir -p $(SPARKOPS_CCACHE_DIR) $(SPARKOPS_CCACHE_ARM64_DIR) $(SPARKOPS_NPM_CACHE_DIR) $(SPARKOPS_PIP_CACHE_DIR)

lint: setup
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(CACHE)/collections $(BIN)/ansible-lint --profile production --strict

unit: setup $(TESTBED_VARS)
	SPARKOPS_LLAMA_CPP_SRC=$(CURDIR)/$(CACHE)/src/llama.cpp \
	  PYTHONPATH=$(CURDIR)/$(CACHE)/collections $(BIN)/pytest -q tests/unit

# Scenarios run side by side, MOLECULE_JOBS at a time, each in its own container and with its own
# log (tests/run-scenario.sh); the list is ordered longest first so that the lanes end together.
# Any failed scenario fails the target, after the others have finished.
molecule: export SPARKOPS_ARM64_LLAMA_BUILD ?= $(if $(wildcard $(ARM64_WARM_MARK)),full,configure)
molecule: testbed
	$(if $(filter arm64,$(SCENARIOS)),tests/testbed/register-qemu.sh)
	mkdir -p $(CACHE)/molecule-collections $(CACHE)/molecule-logs
	rm -f $(CACHE)/molecule-logs/summary
	@if [ -n "$(filter arm64,$(SCENARIOS))" ]; then echo "arm64 lane: llama.cpp $$SPARKOPS_ARM64_LLAMA_BUILD path"; fi
	status=0; printf '%s\n' $(SCENARIOS) | ANSIBLE_COLLECTIONS_PATH=$(MOLECULE_COLLECTIONS_PATH) \
	  MOLECULE=$(BIN)/molecule MOLECULE_LOG_DIR=$(CACHE)/molecule-logs xargs -P $(MOLECULE_JOBS) -I '{}' tests/run-scenario.sh '{}' || status=$$?; \
	  echo "molecule scenarios:"; cat $(CACHE)/molecule-logs/summary; exit $$status

# The last line names the pins the agent loop just passed on (README.md, "Moving a pin").
test: lint build-check unit molecule
	$(BIN)/python tests/pins.py

# The arm64 lane (molecule/arm64) alone, on the llama.cpp path the arm64 ccache allows.
test-arm64:
	$(MAKE) molecule SCENARIOS=arm64

# The arm64 lane with the emulated llama.cpp compile, whatever the cache holds; it marks the
# arm64 ccache warm for `make test` once it has passed.
test-arm64-full:
	$(MAKE) molecule SCENARIOS=arm64 SPARKOPS_ARM64_LLAMA_BUILD=full
	touch $(ARM64_WARM_MARK)

demo: testbed
	tests/testbed/demo.sh

demo-clean:
	-docker rm -f spark01

build: setup
	mkdir -p $(CACHE)/build
	$(BIN)/ansible-galaxy collection build --force --output-path $(CACHE)/build .

clean: demo-clean
	rm -rf $(VENV) $(CACHE)

# The built tarball must install without network, as a user would install it, and its roles
# and modules must be listed from the installed copy.
build-check: build
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  ANSIBLE_COLLECTIONS_PATH="$$tmp" $(CURDIR)/$(BIN)/ansible-galaxy collection install --offline \
	    -p "$$tmp" $(CURDIR)/$(CACHE)/build/sparkops-llm-0.1.0.tar.gz && \
	  ANSIBLE_COLLECTIONS_PATH="$$tmp" $(CURDIR)/$(BIN)/ansible-doc -t role -l sparkops.llm > "$$tmp/roles.txt" && \
	  for role in $(ROLES); do grep -q "^sparkops.llm.$$role:" "$$tmp/roles.txt" || { echo "role $$role missing"; exit 1; }; done && \
	  for module in $(MODULES); do \
	    ANSIBLE_COLLECTIONS_PATH="$$tmp" $(CURDIR)/$(BIN)/ansible-doc sparkops.llm.$$module | grep -q "^> MODULE sparkops.llm.$$module" \
	      || { echo "ansible-doc sparkops.llm.$$module does not render"; exit 1; }; \
	  done

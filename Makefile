# Convenience targets; tasks.py holds the two commands a fresh machine needs.
PY ?= .venv/bin/python
BIN := .venv/bin

.PHONY: dev test venv protos check-protos lint breaking crds manifests check-manifests images

dev:            ## run the whole platform locally (tenantry dev)
	python3 tasks.py dev

test:           ## every check and the whole test suite (what CI runs)
	python3 tasks.py test

venv:
	python3 -c "import tasks; tasks.ensure_venv()"

protos: venv    ## regenerate Python stubs and .pyi from protos/
	$(PY) protos/generate.py

check-protos: venv  ## fail if gen/ is stale
	$(PY) protos/generate.py --check

lint: venv
	$(BIN)/ruff check .
	$(BIN)/buf lint protos
	$(BIN)/buf format -d --exit-code protos

breaking: venv  ## compare protos with the last commit of main
	$(BIN)/buf breaking protos --against '.git#branch=main,subdir=protos'

crds: venv      ## copy manifests/crds into the operator chart (byte for byte)
	$(PY) charts/render.py crds

manifests: crds ## re-render manifests/rendered from the charts (helm template)
	$(PY) charts/render.py manifests

check-manifests: venv
	$(PY) charts/render.py check

VERSION ?= $(shell python3 -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
IMAGE ?= ghcr.io/tenantry/tenantry
images:         ## build the one platform image (needs Docker)
	docker build -t $(IMAGE):$(VERSION) .

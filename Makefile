# Shortcuts for the commands in README.md; dev.py does the work.
PYTHON ?= python3

.PHONY: lab test bench voila

lab:
	$(PYTHON) dev.py lab

test:
	$(PYTHON) dev.py test $(ARGS)

bench:
	$(PYTHON) dev.py bench $(ARGS)

voila:
	$(PYTHON) dev.py voila $(NOTEBOOK)

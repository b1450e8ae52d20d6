# Benchmarks (issue 9's harness). The project never needs make to build or test.
PY ?= .venv/bin/python

.PHONY: bench bench-quick man

bench:  ## every row at full size (about half an hour on 2 cores); report in bench/out/
	mkdir -p bench/out
	$(PY) bench/run.py --out bench/out/report.json

bench-quick:  ## small sizes, a few minutes: a smoke run
	mkdir -p bench/out
	$(PY) bench/run.py --quick --out bench/out/report-quick.json

man:  ## rewrite the manual page from the parser (a test checks it is up to date)
	$(PY) -m containersync.manpage > man/containersync.1
